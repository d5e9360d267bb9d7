"""Browser sessions at the gateway: cookies, double-submit CSRF, WWW-Authenticate, ETags."""

from __future__ import annotations

import pytest

from gateway.envelope import ApiError
from gateway.sessions import (
    ACCESS_COOKIE,
    CSRF_COOKIE,
    REFRESH_COOKIE,
    clear_cookies,
    credentials,
    issue_cookies,
)


def test_bearer_header_wins_and_needs_no_csrf():
    found = credentials("POST", {b"authorization": b"Bearer abc", b"cookie": b"unpuzzle_access=x"})
    assert found.authorization == "Bearer abc"
    assert not found.from_cookie


def test_cookie_credentials_need_matching_csrf_for_unsafe_methods():
    cookies = f"{ACCESS_COOKIE}=tok; {CSRF_COOKIE}=c1".encode()
    assert credentials("GET", {b"cookie": cookies}).authorization == "Bearer tok"
    with pytest.raises(ApiError) as missing:
        credentials("POST", {b"cookie": cookies})
    assert missing.value.status == 403
    assert missing.value.code == "CSRF_TOKEN_MISMATCH"
    with pytest.raises(ApiError):
        credentials("DELETE", {b"cookie": cookies, b"x-csrf-token": b"c2"})
    anonymous = credentials("POST", {b"cookie": cookies}, public=True)
    assert anonymous.authorization is None  # public routes ignore the unproven cookie
    ok = credentials("PATCH", {b"cookie": cookies, b"x-csrf-token": b"c1"})
    assert ok.from_cookie
    assert ok.authorization == "Bearer tok"


def test_issued_cookies_are_httponly_secure_lax_and_csrf_is_readable():
    headers = issue_cookies(
        {"accessToken": "a", "refreshToken": "r", "expiresIn": 900}, secure=True
    )
    cookies = {value.split(b"=", 1)[0].decode(): value.decode() for _, value in headers}
    assert set(cookies) == {ACCESS_COOKIE, REFRESH_COOKIE, CSRF_COOKIE}
    for name in (ACCESS_COOKIE, REFRESH_COOKIE):
        assert "HttpOnly" in cookies[name]
        assert "Secure" in cookies[name]
        assert "SameSite=Lax" in cookies[name]
    assert "HttpOnly" not in cookies[CSRF_COOKIE]
    assert "Max-Age=900" in cookies[ACCESS_COOKIE]
    assert "Path=/api/v1/auth" in cookies[REFRESH_COOKIE]
    assert all("Max-Age=0" in value.decode() for _, value in clear_cookies(secure=True))


async def test_cookie_authenticated_write_needs_csrf_through_the_gateway(gateway, tokens):
    token = tokens.instructor()["authorization"].removeprefix("Bearer ")
    cookies = {"cookie": f"{ACCESS_COOKIE}={token}; {CSRF_COOKIE}=csrf-1"}
    refused = await gateway.post(
        "/api/v1/courses", json={"title": "Cookie course"}, headers=cookies
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "CSRF_TOKEN_MISMATCH"
    accepted = await gateway.post(
        "/api/v1/courses",
        json={"title": "Cookie course"},
        headers={**cookies, "x-csrf-token": "csrf-1"},
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.headers["cache-control"] == "no-store"


async def test_unauthenticated_answers_carry_a_challenge(gateway, tokens):
    anonymous = await gateway.post("/api/v1/courses", json={"title": "x"})
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="unpuzzle"'
    expired = tokens.token(roles=("instructor",), permissions=("course:create",), ttl=-120)
    response = await gateway.post(
        "/api/v1/courses", json={"title": "x"}, headers={"authorization": f"Bearer {expired}"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "TOKEN_EXPIRED"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_etag_and_if_none_match(gateway, tokens):
    owner = tokens.instructor()
    created = await gateway.post("/api/v1/courses", json={"title": "Tagged"}, headers=owner)
    assert created.headers["etag"] == '"1"'
    path = f"/api/v1/courses/{created.json()['data']['id']}"
    fresh = await gateway.get(path, headers={**owner, "if-none-match": '"1"'})
    assert fresh.status_code == 304
    assert fresh.content == b""
    stale = await gateway.get(path, headers={**owner, "if-none-match": '"0"'})
    assert stale.status_code == 200
