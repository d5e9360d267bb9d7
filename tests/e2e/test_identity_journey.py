"""The identity journey through the gateway, with every service running and production hashing:
register -> login -> GET /me -> refresh -> reuse of the old refresh token -> logout, after which
every service refuses the access token within a second."""

from __future__ import annotations

import jwt
import pytest

from services.user.tests.api import IdentityApi, bearer, failed, ok
from tests.support import eventually

pytestmark = pytest.mark.integration


async def test_register_login_refresh_reuse_logout(gateway):
    identity = IdentityApi(gateway)
    registered = await identity.register(full_name="Grace Hopper")
    assert registered["user"]["roles"] == ["student"]
    assert registered["expiresIn"] == 900

    signed_in = await identity.login(registered["user"]["email"].upper())
    headers = bearer(signed_in["accessToken"])
    me = ok(await gateway.get("/api/v1/me", headers=headers))
    assert me["id"] == registered["user"]["id"]
    assert (me["roles"], me["permissions"]) == (["student"], ["enrollment:create", "review:create"])

    first_refresh = signed_in["refreshToken"]
    rotated = ok(await gateway.post("/api/v1/auth/refresh", json={"refreshToken": first_refresh}))
    assert rotated["refreshToken"] != first_refresh
    ok(await gateway.get("/api/v1/me", headers=bearer(rotated["accessToken"])))

    # The old refresh token is dead; presenting it again is taken as theft: the whole session ends.
    reused = await gateway.post("/api/v1/auth/refresh", json={"refreshToken": first_refresh})
    failed(reused, 401, "REFRESH_TOKEN_INVALID")
    newest = await gateway.post(
        "/api/v1/auth/refresh", json={"refreshToken": rotated["refreshToken"]}
    )
    failed(newest, 401, "REFRESH_TOKEN_INVALID")
    failed(await gateway.get("/api/v1/me", headers=headers), 401, "TOKEN_REVOKED")

    fresh = await identity.login(registered["user"]["email"])
    fresh_headers = bearer(fresh["accessToken"])
    sessions = ok(await gateway.get("/api/v1/auth/sessions", headers=fresh_headers))
    # This one and the registration's; the session whose refresh token was reused is gone.
    assert [s["current"] for s in sessions] == [True, False]
    reused_session = jwt.decode(signed_in["accessToken"], options={"verify_signature": False})[
        "sid"
    ]
    assert reused_session not in [s["id"] for s in sessions]
    # One route of each service: the token works everywhere before the logout...
    everywhere = ("/api/v1/me", "/api/v1/me/enrollments", "/api/v1/me/dashboard")
    for path in everywhere:
        ok(await gateway.get(path, headers=fresh_headers))
    assert ok(await gateway.post("/api/v1/auth/logout", json={}, headers=fresh_headers)) is None

    # ...and is refused by every service within a second of it (session.revoked via the outbox).
    async def refused_everywhere() -> bool:
        for path in everywhere:
            response = await gateway.get(path, headers=fresh_headers)
            if response.status_code != 401:
                return False
        return True

    await eventually(refused_everywhere, timeout=1.0)
    for path in everywhere:
        failed(await gateway.get(path, headers=fresh_headers), 401, "TOKEN_REVOKED")
