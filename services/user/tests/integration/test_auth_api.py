"""Signing in and out through the gateway, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.user.tests.api import PASSWORD, IdentityApi, bearer, failed, ok, unique_email

pytestmark = pytest.mark.integration


def _comparable(response) -> tuple[int, dict]:
    """Status and body without what differs between any two requests."""
    body = response.json()
    body.pop("timestamp")
    body["meta"].pop("requestId")
    return response.status_code, body


async def test_registration_validates_and_reports_weak_passwords_per_field(api):
    identity = IdentityApi(api)
    email = unique_email()
    weak = await api.post(
        "/api/v1/auth/register",
        json={"email": email, "password": email.upper(), "fullName": "Ada"},
    )
    error = failed(weak, 400, "WEAK_PASSWORD")
    assert error["details"] == [
        {"field": "password", "description": "must not be the email address"}
    ]
    short = await api.post(
        "/api/v1/auth/register",
        json={"email": "not-an-email", "password": "short", "fullName": ""},
    )
    fields = {d["field"] for d in failed(short, 400, "VALIDATION_FAILED")["details"]}
    assert fields == {"email", "fullName"}
    await identity.register(email)
    again = await api.post(
        "/api/v1/auth/register",
        json={"email": email.upper(), "password": PASSWORD, "fullName": "Ada"},
    )
    failed(again, 409, "EMAIL_ALREADY_REGISTERED")


async def test_unknown_email_and_wrong_password_look_the_same(api):
    identity = IdentityApi(api)
    known = (await identity.register())["user"]["email"]
    unknown = await api.post(
        "/api/v1/auth/login", json={"email": unique_email(), "password": PASSWORD}
    )
    wrong = await api.post("/api/v1/auth/login", json={"email": known, "password": "nope" * 3})
    assert _comparable(unknown) == _comparable(wrong)
    failed(wrong, 401, "INVALID_CREDENTIALS")
    reset_unknown = await api.post(
        "/api/v1/auth/password:requestReset", json={"email": unique_email()}
    )
    reset_known = await api.post("/api/v1/auth/password:requestReset", json={"email": known})
    assert _comparable(reset_unknown) == _comparable(reset_known)
    assert ok(reset_known) is None


async def test_repeated_bad_logins_are_throttled_and_audited(api, settings):
    identity = IdentityApi(api)
    victim = (await identity.register())["user"]
    for _ in range(5):
        bad = await api.post(
            "/api/v1/auth/login", json={"email": victim["email"], "password": "guess" * 3}
        )
        failed(bad, 401, "INVALID_CREDENTIALS")
    locked = await api.post(
        "/api/v1/auth/login", json={"email": victim["email"], "password": PASSWORD}
    )
    error = failed(locked, 429, "TOO_MANY_LOGIN_ATTEMPTS")
    assert error["details"] == [{"metadata": {"retryAfterSeconds": "30"}}]
    assert locked.headers["retry-after"] == "30"
    admin = bearer((await identity.admin(settings))["accessToken"])
    trail = ok(
        await api.get(
            "/api/v1/audit-events",
            params={"userId": victim["id"], "type": "login.failed"},
            headers=admin,
        )
    )
    assert len(trail) == 5
    assert {entry["details"]["reason"] for entry in trail} == {"bad_credentials"}
    throttled = ok(
        await api.get("/api/v1/audit-events", params={"type": "login.throttled"}, headers=admin)
    )
    assert [entry["details"]["email"] for entry in throttled] == [victim["email"]]


def _token(settings, key: Ed25519PrivateKey | None = None, **overrides) -> str:
    from kernel.jwt_keys import load_private_keys

    kid, signing_key = list(load_private_keys(settings.signing_keys_dir).items())[-1]
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "roles": ["super_admin"],
        "perms": ["user:read"],
        "iat": now,
        "exp": now + 900,
        "jti": uuid.uuid4().hex,
        **overrides,
    }
    return jwt.encode(claims, key or signing_key, algorithm="EdDSA", headers={"kid": kid})


def _unsigned(settings) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    header = {"alg": "none", "typ": "JWT"}
    claims = jwt.decode(_token(settings), options={"verify_signature": False})
    return f"{part(header)}.{part(claims)}."


def _tampered(settings) -> str:
    header, payload, signature = _token(settings, perms=["user:read"]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["perms"] = ["user:read", "user:manage_roles"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


@pytest.mark.parametrize(
    ("forge", "code"),
    [
        (_unsigned, "TOKEN_INVALID"),
        (lambda s: _token(s, key=Ed25519PrivateKey.generate()), "TOKEN_INVALID"),
        (lambda s: _token(s, aud="someone-else"), "TOKEN_INVALID"),
        (
            lambda s: _token(s, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
            "TOKEN_EXPIRED",
        ),
        (_tampered, "TOKEN_INVALID"),
    ],
    ids=["alg-none", "wrong-key", "wrong-audience", "expired", "tampered"],
)
async def test_bad_access_tokens_are_refused_by_the_user_service(api, settings, forge, code):
    for path in ("/api/v1/me", "/api/v1/users"):
        refused = await api.get(path, headers=bearer(forge(settings)))
        failed(refused, 401, code)
    assert (await api.get("/api/v1/users", headers=bearer(_token(settings)))).status_code == 200


async def test_sessions_are_private_to_their_owner(api):
    identity = IdentityApi(api)
    ada = await identity.register()
    bob = await identity.register()
    ada_again = await identity.login(ada["user"]["email"])
    listed = ok(await api.get("/api/v1/auth/sessions", headers=bearer(ada_again["accessToken"])))
    assert len(listed) == 2
    assert [s["current"] for s in listed] == [True, False]  # newest (this one) first
    bob_sessions = ok(await api.get("/api/v1/auth/sessions", headers=bearer(bob["accessToken"])))
    [bob_session] = bob_sessions
    stolen = await api.delete(
        f"/api/v1/auth/sessions/{bob_session['id']}", headers=bearer(ada["accessToken"])
    )
    failed(stolen, 404, "SESSION_NOT_FOUND")
    ok(await api.get("/api/v1/me", headers=bearer(bob["accessToken"])))
    private = await api.get(
        f"/api/v1/users/{bob['user']['id']}", headers=bearer(ada["accessToken"])
    )
    failed(private, 403, "PERMISSION_DENIED")
    public = ok(await api.get(f"/api/v1/users/{bob['user']['id']}/profile"))
    assert "email" not in public
    assert public["displayName"] == "Ada Lovelace"
    others = ok(
        await api.post(
            "/api/v1/auth/sessions:revokeOthers", json={}, headers=bearer(ada_again["accessToken"])
        )
    )
    assert others == {"revokedCount": 1}
    failed(await api.get("/api/v1/me", headers=bearer(ada["accessToken"])), 401, "TOKEN_REVOKED")


async def test_patch_me_cannot_assign_roles_status_or_email(api):
    identity = IdentityApi(api)
    ada = await identity.register()
    headers = bearer(ada["accessToken"])
    sneaky = await api.patch(
        "/api/v1/me",
        json={"displayName": "Ada", "roles": ["admin"], "status": "active", "email": "x@y.z"},
        headers=headers,
    )
    details = failed(sneaky, 400, "VALIDATION_FAILED")["details"]
    assert {d["field"] for d in details} == {"roles", "status", "email"}
    updated = ok(
        await api.patch(
            "/api/v1/me", json={"displayName": "Countess", "version": 1}, headers=headers
        )
    )
    assert (updated["displayName"], updated["version"], updated["roles"]) == (
        "Countess",
        2,
        ["student"],
    )
    stale = await api.patch("/api/v1/me", json={"bio": "x", "version": 1}, headers=headers)
    failed(stale, 409, "VERSION_CONFLICT")


async def test_logout_ends_the_session_in_this_service_at_once(api):
    identity = IdentityApi(api)
    ada = await identity.register()
    headers = bearer(ada["accessToken"])
    assert ok(await api.post("/api/v1/auth/logout", json={}, headers=headers)) is None
    failed(await api.get("/api/v1/me", headers=headers), 401, "TOKEN_REVOKED")
    refused = await api.post("/api/v1/auth/refresh", json={"refreshToken": ada["refreshToken"]})
    failed(refused, 401, "REFRESH_TOKEN_INVALID")


async def test_password_change_ends_the_other_sessions(api):
    identity = IdentityApi(api)
    ada = await identity.register()
    other = await identity.login(ada["user"]["email"])
    changed = await api.post(
        "/api/v1/auth/password:change",
        json={"currentPassword": PASSWORD, "newPassword": "a whole new passphrase"},
        headers=bearer(ada["accessToken"]),
    )
    assert ok(changed) is None
    failed(await api.get("/api/v1/me", headers=bearer(other["accessToken"])), 401, "TOKEN_REVOKED")
    ok(await api.get("/api/v1/me", headers=bearer(ada["accessToken"])))
    wrong = await api.post(
        "/api/v1/auth/password:change",
        json={"currentPassword": PASSWORD, "newPassword": "yet another passphrase"},
        headers=bearer(ada["accessToken"]),
    )
    error = failed(wrong, 400, "INVALID_CREDENTIALS")
    assert error["details"] == [{"field": "currentPassword", "description": "is incorrect"}]


async def test_password_reset_with_the_logged_token(api, caplog):
    identity = IdentityApi(api)
    ada = await identity.register()
    with caplog.at_level(logging.WARNING, logger="services.user.adapters.notifications"):
        ok(
            await api.post(
                "/api/v1/auth/password:requestReset", json={"email": ada["user"]["email"]}
            )
        )
    [token] = re.findall(r"password-reset token for \S+: (\S+)", caplog.text)
    reset = await api.post(
        "/api/v1/auth/password:reset", json={"token": token, "newPassword": "fresh passphrase 7"}
    )
    assert ok(reset) is None
    failed(await api.get("/api/v1/me", headers=bearer(ada["accessToken"])), 401, "TOKEN_REVOKED")
    await identity.login(ada["user"]["email"], "fresh passphrase 7")
    replay = await api.post(
        "/api/v1/auth/password:reset", json={"token": token, "newPassword": "third passphrase 7"}
    )
    failed(replay, 400, "RESET_TOKEN_INVALID")


async def test_delete_me_deactivates_and_anonymises(api, settings):
    identity = IdentityApi(api)
    ada = await identity.register()
    assert ok(await api.delete("/api/v1/me", headers=bearer(ada["accessToken"]))) is None
    gone = await api.post(
        "/api/v1/auth/login", json={"email": ada["user"]["email"], "password": PASSWORD}
    )
    failed(gone, 401, "INVALID_CREDENTIALS")
    admin = bearer((await identity.admin(settings))["accessToken"])
    stored = ok(await api.get(f"/api/v1/users/{ada['user']['id']}", headers=admin))
    assert stored["status"] == "deactivated"
    assert stored["email"].endswith("@deleted.invalid")
    assert stored["fullName"] == "Deleted user"
    failed(await api.get(f"/api/v1/users/{ada['user']['id']}/profile"), 404, "USER_NOT_FOUND")
    await identity.register(ada["user"]["email"])  # the email is free again


async def test_browser_login_sets_cookies_that_authenticate_refresh_and_log_out(api):
    identity = IdentityApi(api)
    ada = (await identity.register())["user"]
    browser = {"user-agent": "Mozilla/5.0 (Unpuzzle test browser)"}
    login = await api.post(
        "/api/v1/auth/login", json={"email": ada["email"], "password": PASSWORD}, headers=browser
    )
    ok(login)
    jar = {name: login.cookies[name] for name in ("unpuzzle_access", "csrf_token")}
    refresh_cookie = login.cookies["unpuzzle_refresh"]
    cookie_header = "; ".join(f"{name}={value}" for name, value in jar.items())
    me = ok(await api.get("/api/v1/me", headers={"cookie": cookie_header}))
    assert me["id"] == ada["id"]
    sessions = ok(await api.get("/api/v1/auth/sessions", headers={"cookie": cookie_header}))
    assert sessions[0]["userAgent"] == browser["user-agent"]
    refreshed = await api.post(
        "/api/v1/auth/refresh",
        json={},
        headers={
            "cookie": f"{cookie_header}; unpuzzle_refresh={refresh_cookie}",
            "x-csrf-token": jar["csrf_token"],
        },
    )
    assert ok(refreshed)["refreshToken"] != refresh_cookie
    assert refreshed.cookies["unpuzzle_access"] != jar["unpuzzle_access"]
    new_jar = f"unpuzzle_access={refreshed.cookies['unpuzzle_access']}; "
    new_jar += f"csrf_token={refreshed.cookies['csrf_token']}"
    logout = await api.post(
        "/api/v1/auth/logout",
        json={},
        headers={"cookie": new_jar, "x-csrf-token": refreshed.cookies["csrf_token"]},
    )
    ok(logout)
    cleared = logout.headers.get_list("set-cookie")
    assert cleared
    assert all("Max-Age=0" in value for value in cleared)
    failed(await api.get("/api/v1/me", headers={"cookie": new_jar}), 401, "TOKEN_REVOKED")


async def test_jwks_is_served_bare_for_standard_clients(api):
    response = await api.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert set(response.json()) == {"keys"}  # RFC 7517 document, no envelope


async def test_jwks_publishes_the_key_that_signs_access_tokens(api):
    keys = (await api.get("/.well-known/jwks.json")).json()["keys"]
    ada = await IdentityApi(api).register()
    kid = jwt.get_unverified_header(ada["accessToken"])["kid"]
    [key] = [k for k in keys if k["kid"] == kid]
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}  # no private member
    public = jwt.PyJWK(key).key
    claims = jwt.decode(ada["accessToken"], public, algorithms=["EdDSA"], audience="unpuzzle-api")
    assert claims["sub"] == ada["user"]["id"]
    assert round(claims["exp"] - claims["iat"]) == ada["expiresIn"] == 900
    assert claims["perms"] == ada["user"]["permissions"]
