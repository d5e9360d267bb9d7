"""Authorization, administration and the audit trail through the gateway."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.user.tests.api import PASSWORD, IdentityApi, bearer, failed, ok, unique_email

pytestmark = pytest.mark.integration

SIGNED_IN = frozenset({"viewer", "student", "instructor", "admin", "super_admin"})
ADMINS = frozenset({"admin", "super_admin"})


@dataclass(frozen=True)
class Route:
    """A protected route, its request, and the roles that may use it."""

    method: str
    path: str
    allowed: frozenset[str]
    body: dict[str, Any] | None = None


# The one table the RBAC matrix is generated from: {target} is another user's id.
ROUTES = [
    Route("GET", "/api/v1/me", SIGNED_IN),
    Route("PATCH", "/api/v1/me", SIGNED_IN, {"bio": "hello"}),
    Route("GET", "/api/v1/auth/sessions", SIGNED_IN),
    Route("POST", "/api/v1/auth/sessions:revokeOthers", SIGNED_IN, {}),
    Route("GET", "/api/v1/roles", SIGNED_IN),
    Route("GET", "/api/v1/users", ADMINS),
    Route("GET", "/api/v1/users/{target}", ADMINS),
    Route("PATCH", "/api/v1/users/{target}", ADMINS, {"bio": "edited by an admin"}),
    Route("POST", "/api/v1/users/{target}/roles", ADMINS, {"role": "viewer"}),
    Route("DELETE", "/api/v1/users/{target}/roles/viewer", ADMINS),
    Route("GET", "/api/v1/audit-events", ADMINS),
]


def expected_status(role: str | None, route: Route) -> int:
    """401 for anonymous callers, 2xx for allowed roles, 403 for the others."""
    if role is None:
        return 401
    return 200 if role in route.allowed else 403


async def test_rbac_matrix(api, settings):
    identity = IdentityApi(api)
    admin = (await identity.admin(settings))["accessToken"]
    target = (await identity.register())["user"]["id"]
    callers: dict[str | None, dict[str, str]] = {None: {}}
    for name in sorted(SIGNED_IN - {"super_admin"}):
        callers[name] = bearer((await identity.with_role(admin, name))["accessToken"])
    callers["super_admin"] = bearer(admin)
    mismatches = []
    for role, headers in callers.items():
        for route in ROUTES:
            response = await api.request(
                route.method,
                route.path.format(target=target),
                json=route.body,
                headers=headers,
            )
            expected = expected_status(role, route)
            if response.status_code != expected:
                mismatches.append((role, route.method, route.path, response.status_code, expected))
    assert mismatches == [], "\n".join(map(str, mismatches))
    assert len(callers) * len(ROUTES) == 66


async def test_suspension_revokes_sessions_and_blocks_login(api, settings):
    identity = IdentityApi(api)
    admin = bearer((await identity.admin(settings))["accessToken"])
    ada = await identity.register()
    user_id = ada["user"]["id"]
    suspended = ok(
        await api.patch(
            f"/api/v1/users/{user_id}",
            json={"status": "suspended", "statusReason": "spam"},
            headers=admin,
        )
    )
    assert suspended["status"] == "suspended"
    failed(await api.get("/api/v1/me", headers=bearer(ada["accessToken"])), 401, "TOKEN_REVOKED")
    refresh = await api.post("/api/v1/auth/refresh", json={"refreshToken": ada["refreshToken"]})
    failed(refresh, 401, "REFRESH_TOKEN_INVALID")
    login = await api.post(
        "/api/v1/auth/login", json={"email": ada["user"]["email"], "password": PASSWORD}
    )
    failed(login, 403, "ACCOUNT_SUSPENDED")
    deactivate = await api.patch(
        f"/api/v1/users/{user_id}", json={"status": "deactivated"}, headers=admin
    )
    assert failed(deactivate, 400, "VALIDATION_FAILED")["details"][0]["field"] == "status"
    ok(await api.patch(f"/api/v1/users/{user_id}", json={"status": "active"}, headers=admin))
    await identity.login(ada["user"]["email"])
    trail = ok(await api.get("/api/v1/audit-events", params={"userId": user_id}, headers=admin))
    assert [e["type"] for e in trail][:3] == ["login.succeeded", "user.reactivated", "login.failed"]
    assert "user.suspended" in [e["type"] for e in trail]


async def test_roles_are_granted_and_revoked_and_the_last_super_admin_stays(api, settings):
    identity = IdentityApi(api)
    root = await identity.admin(settings)
    admin = bearer(root["accessToken"])
    ada = await identity.register()
    user_id = ada["user"]["id"]
    granted = ok(
        await api.post(f"/api/v1/users/{user_id}/roles", json={"role": "instructor"}, headers=admin)
    )
    assert granted["roles"] == ["instructor", "student"]
    assert "course:create" in granted["permissions"]
    instructor = await identity.login(ada["user"]["email"])
    assert "course:publish" in instructor["user"]["permissions"]
    revoked = await api.delete(f"/api/v1/users/{user_id}/roles/instructor", headers=admin)
    assert ok(revoked) is None
    # Tokens issued before the revocation carry stale permissions: refused at once here.
    stale = await api.get("/api/v1/me", headers=bearer(instructor["accessToken"]))
    failed(stale, 401, "TOKEN_REVOKED")
    unknown = await api.post(
        f"/api/v1/users/{user_id}/roles", json={"role": "wizard"}, headers=admin
    )
    failed(unknown, 400, "VALIDATION_FAILED")
    last = await api.delete(f"/api/v1/users/{root['user']['id']}/roles/super_admin", headers=admin)
    failed(last, 400, "LAST_SUPER_ADMIN")
    missing = await api.get("/api/v1/users/00000000-0000-4000-8000-000000000000", headers=admin)
    failed(missing, 404, "USER_NOT_FOUND")


async def test_roles_catalogue_lists_every_role_with_permissions(api):
    ada = await IdentityApi(api).register()
    roles = ok(await api.get("/api/v1/roles", headers=bearer(ada["accessToken"])))
    by_name = {role["role"]: role["permissions"] for role in roles}
    assert set(by_name) == {"admin", "instructor", "student", "super_admin", "viewer"}
    assert {"course:create", "course:update", "course:publish", "course:delete"} <= set(
        by_name["instructor"]
    )
    assert by_name["viewer"] == []
    assert by_name["admin"] == by_name["super_admin"]
    assert {"user:manage_roles", "audit:read", "analytics:view_platform"} <= set(by_name["admin"])


async def test_user_search_filters_and_pages(api, settings):
    identity = IdentityApi(api)
    admin = bearer((await identity.admin(settings))["accessToken"])
    marker = unique_email("zebra").split("@")[0]
    created = [
        (await identity.register(f"{marker}-{index}@example.test"))["user"]["id"]
        for index in range(5)
    ]
    first = await api.get(
        "/api/v1/users", params={"q": marker.upper(), "pageSize": 2}, headers=admin
    )
    body = first.json()
    assert [u["id"] for u in body["data"]] == created[::-1][:2]
    pagination = body["meta"]["pagination"]
    assert (pagination["pageSize"], pagination["totalSize"]) == (2, 5)
    seen = [u["id"] for u in body["data"]]
    token = pagination["nextPageToken"]
    while token:
        page = await api.get(
            "/api/v1/users", params={"q": marker, "pageSize": 2, "pageToken": token}, headers=admin
        )
        seen += [u["id"] for u in ok(page)]
        token = page.json()["meta"]["pagination"]["nextPageToken"]
    assert seen == created[::-1]
    mismatched = await api.get(
        "/api/v1/users",
        params={"q": "other", "pageToken": first.json()["meta"]["pagination"]["nextPageToken"]},
        headers=admin,
    )
    failed(mismatched, 400, "INVALID_PAGE_TOKEN")
    supers = ok(await api.get("/api/v1/users", params={"role": "super_admin"}, headers=admin))
    assert [u["email"] for u in supers] == [settings.admin_email]
    suspended = ok(await api.get("/api/v1/users", params={"status": "suspended"}, headers=admin))
    assert suspended == []


async def test_audit_trail_filters_by_time_and_pages(api, settings):
    identity = IdentityApi(api)
    admin = bearer((await identity.admin(settings))["accessToken"])
    start = datetime.now(UTC) - timedelta(seconds=1)
    ada = await identity.register()
    for _ in range(3):
        await api.post(
            "/api/v1/auth/login", json={"email": ada["user"]["email"], "password": "bad" * 4}
        )
    params = {"userId": ada["user"]["id"], "pageSize": 3, "from": start.isoformat()}
    first = await api.get("/api/v1/audit-events", params=params, headers=admin)
    entries = ok(first)
    assert [e["type"] for e in entries] == ["login.failed"] * 3
    assert all(e["ipAddress"] == "127.0.0.1" for e in entries)
    meta = first.json()["meta"]["pagination"]
    assert meta["totalSize"] == 4
    rest = ok(
        await api.get(
            "/api/v1/audit-events",
            params={**params, "pageToken": meta["nextPageToken"]},
            headers=admin,
        )
    )
    assert [e["type"] for e in rest] == ["user.registered"]
    before = ok(
        await api.get(
            "/api/v1/audit-events",
            params={"userId": ada["user"]["id"], "to": start.isoformat()},
            headers=admin,
        )
    )
    assert before == []
    bad = await api.get("/api/v1/audit-events", params={"from": "yesterday"}, headers=admin)
    assert failed(bad, 400, "VALIDATION_FAILED")["details"][0]["field"] == "from"
