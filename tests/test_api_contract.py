"""The REST contract of API.md: every route it lists is served and documented.

The list is API.md's route tables, expanded (one line per method and path, `/api/v1` added), so a
route dropped from a proto or a binding that drifts from the contract fails here.
"""

from __future__ import annotations

import re

import httpx
import pytest

import unpuzzle
from gateway.config import DEPRECATED_BINDINGS
from gateway.openapi import build_openapi
from gateway.routes import RouteTable, import_service_modules, routes_for_service

API_MD_ROUTES = """
POST /auth/register
POST /auth/login
POST /auth/refresh
POST /auth/logout
GET /auth/sessions
DELETE /auth/sessions/{sessionId}
POST /auth/sessions:revokeOthers
POST /auth/password:change
POST /auth/password:requestReset
POST /auth/password:reset
GET /me
PATCH /me
DELETE /me
GET /users/{userId}/profile
GET /users
GET /users/{userId}
PATCH /users/{userId}
POST /users/{userId}/roles
DELETE /users/{userId}/roles/{role}
GET /roles
GET /audit-events
GET /categories
POST /categories
PATCH /categories/{categoryId}
DELETE /categories/{categoryId}
GET /courses
GET /courses/{courseIdOrSlug}
POST /courses
PATCH /courses/{courseId}
DELETE /courses/{courseId}
POST /courses/{courseId}:restore
POST /courses/{courseId}:publish
POST /courses/{courseId}:unpublish
POST /courses/{courseId}:archive
POST /courses/{courseId}:duplicate
GET /me/teaching
GET /courses/{courseId}/sections
POST /courses/{courseId}/sections
PATCH /courses/{courseId}/sections/{sectionId}
DELETE /courses/{courseId}/sections/{sectionId}
POST /courses/{courseId}/sections:reorder
POST /sections/{sectionId}/lessons
PATCH /lessons/{lessonId}
DELETE /lessons/{lessonId}
POST /sections/{sectionId}/lessons:reorder
POST /lessons/{lessonId}:move
GET /lessons/{lessonId}
POST /lessons/{lessonId}/quiz-questions
PATCH /quiz-questions/{questionId}
DELETE /quiz-questions/{questionId}
POST /quiz-questions/{questionId}/attempts
POST /courses/{courseId}/enrollment
DELETE /courses/{courseId}/enrollment
GET /me/enrollments
GET /courses/{courseId}/students
GET /courses/{courseId}/reviews
POST /courses/{courseId}/reviews
PATCH /reviews/{reviewId}
DELETE /reviews/{reviewId}
POST /enrollments/{enrollmentId}:activate
PUT /lessons/{lessonId}/progress
POST /progress:batch
POST /lessons/{lessonId}:complete
GET /me/courses/{courseId}/progress
GET /me/dashboard
GET /instructor/courses/{courseId}/analytics
GET /instructor/courses/{courseId}/students/{studentId}/progress
GET /instructor/courses/{courseId}/analytics:export
GET /stats/platform
GET /admin/metrics
"""
# "Outside /api/v1" in API.md; the services' routes among them are in the OpenAPI document too.
OUTSIDE_API = ("/healthz", "/readyz", "/metrics", "/api/v1/openapi.json", "/docs")
JWKS = "/.well-known/jwks.json"


def _contract() -> list[tuple[str, str]]:
    return [
        (method, f"/api/v1{path}")
        for method, path in (line.split() for line in API_MD_ROUTES.strip().splitlines())
    ]


def _document() -> dict:
    table = RouteTable([r for s in import_service_modules(unpuzzle) for r in routes_for_service(s)])
    return build_openapi(table.routes, DEPRECATED_BINDINGS)


def _concrete(path: str) -> str:
    """The path with a plausible value in each variable."""
    return re.sub(r"\{[^}]+\}", "3fa85f64-5717-4562-b3fc-2c963f66afa6", path)


def test_every_api_md_route_is_documented_with_a_description():
    document = _document()
    missing = [
        f"{method} {path}"
        for method, path in _contract()
        if not document["paths"].get(path, {}).get(method.lower(), {}).get("description")
    ]
    assert missing == []
    assert "get" in document["paths"][JWKS]


def test_every_documented_operation_is_in_the_contract_or_a_deprecated_alias():
    document = _document()
    contract = set(_contract()) | {("GET", JWKS)}
    extra = [
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if (method.upper(), path) not in contract and not operation.get("deprecated")
    ]
    assert extra == []


@pytest.mark.integration
async def test_every_api_md_route_is_served(gateway: httpx.AsyncClient):
    unrouted = []
    for method, path in _contract():
        response = await gateway.request(method, _concrete(path), json={})
        # Any answer but the gateway's own "no such route" shows the route exists (most are
        # 401/404 from the services here: no token, no such resource).
        if response.status_code in {404, 405} and response.json()["error"]["code"] in {
            "ROUTE_NOT_FOUND",
            "METHOD_NOT_ALLOWED",
        }:
            unrouted.append(f"{method} {path}")
    assert unrouted == []
    for path in (*OUTSIDE_API, JWKS):
        assert (await gateway.get(path)).status_code == 200, path
