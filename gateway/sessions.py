"""Browser sessions at the edge: token cookies, double-submit CSRF, WWW-Authenticate.

Bearer tokens pass through untouched. Browsers may instead use the HttpOnly cookies that login
and refresh set; then every unsafe method must echo the readable `csrf_token` cookie in the
`X-CSRF-Token` header (double submit), or the request is refused before reaching a service.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from gateway.envelope import ApiError

ACCESS_COOKIE = "unpuzzle_access"
REFRESH_COOKIE = "unpuzzle_refresh"
CSRF_COOKIE = "csrf_token"
CSRF_HEADER = b"x-csrf-token"
REFRESH_COOKIE_PATH = "/api/v1/auth"
# Used when an answer does not say how long its refresh token lives (`refreshExpiresIn`).
REFRESH_COOKIE_MAX_AGE = 30 * 24 * 3600
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def parse_cookies(header: bytes) -> dict[str, str]:
    """Cookie header -> name: value (malformed pairs are ignored)."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header.decode("latin-1"))
    except Exception:  # http.cookies raises CookieError on garbage; treat it as no cookies
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


@dataclass(frozen=True)
class Credentials:
    """The credential a request carries and where it came from."""

    authorization: str | None
    from_cookie: bool
    cookies: dict[str, str]


def credentials(method: str, headers: dict[bytes, bytes], *, public: bool = False) -> Credentials:
    """Bearer header first; else the access cookie, with the CSRF check for unsafe methods.

    On public routes (sign-up, sign-in, refresh, password reset) a cookie without a matching
    CSRF token is ignored instead of refused: a stale session must not lock a browser out of
    signing in, and those routes act in no signed-in caller's name.
    """
    cookies = parse_cookies(headers.get(b"cookie", b""))
    header = headers.get(b"authorization")
    if header:
        return Credentials(header.decode("latin-1"), from_cookie=False, cookies=cookies)
    token = cookies.get(ACCESS_COOKIE)
    if not token:
        return Credentials(None, from_cookie=False, cookies=cookies)
    if method in _UNSAFE:
        sent = headers.get(CSRF_HEADER, b"").decode("latin-1")
        expected = cookies.get(CSRF_COOKIE, "")
        if not expected or not hmac.compare_digest(sent, expected):
            if public:
                return Credentials(None, from_cookie=False, cookies=cookies)
            raise ApiError(
                403,
                "CSRF_TOKEN_MISMATCH",
                "Cookie-authenticated writes must send X-CSRF-Token equal to the csrf_token cookie",
            )
    return Credentials(f"Bearer {token}", from_cookie=True, cookies=cookies)


def _cookie(
    name: str, value: str, *, max_age: int, path: str, http_only: bool, secure: bool
) -> bytes:
    parts = [f"{name}={value}", f"Path={path}", f"Max-Age={max_age}", "SameSite=Lax"]
    if http_only:
        parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    return "; ".join(parts).encode()


def issue_cookies(data: dict[str, Any], *, secure: bool) -> list[tuple[bytes, bytes]]:
    """Set-Cookie headers for the tokens in a login/refresh answer, plus a fresh CSRF token."""
    access = data.get("accessToken")
    if not isinstance(access, str) or not access:
        return []
    expires_in = int(data.get("expiresIn") or 900)
    refresh_max_age = int(data.get("refreshExpiresIn") or REFRESH_COOKIE_MAX_AGE)
    headers = [
        (
            b"set-cookie",
            _cookie(
                ACCESS_COOKIE, access, max_age=expires_in, path="/", http_only=True, secure=secure
            ),
        ),
        (
            b"set-cookie",
            _cookie(
                CSRF_COOKIE,
                secrets.token_urlsafe(32),
                max_age=refresh_max_age,
                path="/",
                http_only=False,
                secure=secure,
            ),
        ),
    ]
    refresh = data.get("refreshToken")
    if isinstance(refresh, str) and refresh:
        headers.append(
            (
                b"set-cookie",
                _cookie(
                    REFRESH_COOKIE,
                    refresh,
                    max_age=refresh_max_age,
                    path=REFRESH_COOKIE_PATH,
                    http_only=True,
                    secure=secure,
                ),
            )
        )
    return headers


def clear_cookies(*, secure: bool) -> list[tuple[bytes, bytes]]:
    """Set-Cookie headers deleting every session cookie."""
    return [
        (
            b"set-cookie",
            _cookie(ACCESS_COOKIE, "", max_age=0, path="/", http_only=True, secure=secure),
        ),
        (
            b"set-cookie",
            _cookie(CSRF_COOKIE, "", max_age=0, path="/", http_only=False, secure=secure),
        ),
        (
            b"set-cookie",
            _cookie(
                REFRESH_COOKIE,
                "",
                max_age=0,
                path=REFRESH_COOKIE_PATH,
                http_only=True,
                secure=secure,
            ),
        ),
    ]


def www_authenticate(code: str, had_credentials: bool) -> bytes:
    """The WWW-Authenticate challenge for a 401 (RFC 6750)."""
    if not had_credentials:
        return b'Bearer realm="unpuzzle"'
    error = "invalid_token"
    return f'Bearer realm="unpuzzle", error="{error}", error_description="{code.lower()}"'.encode()
