"""The gateway's HTTP behaviour: envelope, routing, transcoding errors, backend failures."""

from __future__ import annotations

import time
from dataclasses import replace

import httpx
import pytest

from deploy.embedded_nats import free_port
from gateway.app import create_app
from kernel.settings import Settings
from tests.support import open_gateway_client

pytestmark = pytest.mark.integration
JSON = {"content-type": "application/json"}


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False
    assert body["error"]["code"] == code
    assert body["meta"]["requestId"] == response.headers["x-request-id"]
    assert body["timestamp"].endswith("Z")
    return body


async def test_create_then_get_course_through_the_gateway(gateway, tokens):
    owner = tokens.instructor()
    created = await gateway.post(
        "/api/v1/courses",
        json={"title": "Gateway Course", "price": "9.50", "difficulty": "advanced"},
        headers=owner,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["ok"] is True
    assert body["message"] is None
    assert body["meta"]["requestId"] == created.headers["x-request-id"]
    course = body["data"]
    assert course["difficulty"] == "advanced"
    assert course["price"] == "9.50"
    assert course["discountPrice"] is None
    assert course["tags"] == []  # defaults are emitted
    assert course["isFree"] is False
    fetched = await gateway.get(f"/api/v1/courses/{course['slug']}", headers=owner)
    assert fetched.status_code == 200
    assert fetched.json()["data"] == course


async def test_request_id_is_taken_from_the_client(gateway):
    response = await gateway.get(
        "/api/v1/courses/unknown-slug", headers={"x-request-id": "abc-123"}
    )
    body = assert_error(response, 404, "COURSE_NOT_FOUND")
    assert body["meta"]["requestId"] == "abc-123"


async def test_unknown_route_and_wrong_method(gateway):
    assert_error(await gateway.get("/api/v1/nothing-here"), 404, "ROUTE_NOT_FOUND")
    assert_error(await gateway.delete("/api/v1/courses"), 405, "METHOD_NOT_ALLOWED")


async def test_malformed_json_is_400(gateway):
    response = await gateway.post("/api/v1/courses", content=b'{"title": ', headers=JSON)
    assert_error(response, 400, "MALFORMED_REQUEST")


async def test_unknown_field_is_400_naming_it(gateway):
    response = await gateway.post("/api/v1/courses", json={"title": "x", "instructorId": "me"})
    body = assert_error(response, 400, "VALIDATION_FAILED")
    assert body["error"]["details"] == [{"field": "instructorId", "description": "unknown field"}]
    assert "instructorId" in body["error"]["message"]


async def test_wrong_types_are_400_with_details(gateway):
    response = await gateway.post(
        "/api/v1/courses", json={"title": 5, "tags": "rust", "difficulty": "impossible"}
    )
    body = assert_error(response, 400, "VALIDATION_FAILED")
    fields = {d["field"] for d in body["error"]["details"]}
    assert fields == {"title", "tags", "difficulty"}


async def test_service_side_rules_come_back_as_field_details(gateway, tokens):
    response = await gateway.post(
        "/api/v1/courses", json={"title": " ", "currency": "usd"}, headers=tokens.instructor()
    )
    body = assert_error(response, 400, "VALIDATION_FAILED")
    assert {d["field"] for d in body["error"]["details"]} == {"title", "currency"}


async def test_non_json_body_is_415(gateway):
    response = await gateway.post(
        "/api/v1/courses",
        content=b"title=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


async def test_health_endpoints(gateway):
    alive = await gateway.get("/healthz")
    assert alive.status_code == 200
    assert alive.json()["ok"] is True
    ready = await gateway.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["data"]["backends"] == {"user": True, "course": True, "analytics": True}


async def test_metrics_endpoint_is_prometheus_text(gateway):
    await gateway.get("/healthz")
    response = await gateway.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "unpuzzle_http_requests_total" in response.text


async def test_dead_backend_is_503_within_the_deadline(gateway_settings: Settings):
    dead = replace(
        gateway_settings,
        service_addresses={
            **gateway_settings.service_addresses,
            "course": f"127.0.0.1:{free_port()}",
        },
        backend_deadline_seconds=2.0,
    )
    app = create_app(dead)
    client = await open_gateway_client(app)
    try:
        started = time.monotonic()
        response = await client.get("/api/v1/courses/anything")
        elapsed = time.monotonic() - started
        body = assert_error(response, 503, "SERVICE_UNAVAILABLE")
        assert "127.0.0.1" not in body["error"]["message"]  # no internal addresses leak
        assert elapsed < 2.0
        not_ready = await client.get("/readyz")
        assert_error(not_ready, 503, "SERVICE_UNAVAILABLE")
    finally:
        await client.aclose()
        await app.backends.close()
