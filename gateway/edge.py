"""Response hardening at the edge: security headers, CORS, compression, deprecation notices."""

from __future__ import annotations

import gzip
from datetime import datetime

from gateway.config import Deprecation, EdgeSettings
from gateway.http import Request, Response
from gateway.routes import Route

ALLOWED_METHODS = b"GET, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOWED_HEADERS = (
    b"authorization, content-type, x-csrf-token, idempotency-key, if-match, if-none-match, "
    b"x-request-id"
)
EXPOSED_HEADERS = (
    b"x-request-id, etag, retry-after, x-ratelimit-limit, x-ratelimit-remaining, "
    b"x-ratelimit-reset, deprecation, sunset, link"
)


def security_headers(settings: EdgeSettings) -> list[tuple[bytes, bytes]]:
    """Headers every response carries."""
    return [
        (b"strict-transport-security", settings.hsts.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"content-security-policy", b"frame-ancestors 'none'"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
    ]


def allowed_origin(request: Request, settings: EdgeSettings) -> bytes | None:
    """The request's Origin when it is on the allowlist."""
    origin = request.headers.get(b"origin")
    if origin is None:
        return None
    return origin if origin.decode("latin-1").rstrip("/") in settings.cors_origins else None


def cors_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
    """Headers granting an allowed origin access, with credentials."""
    return [
        (b"access-control-allow-origin", origin),
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-expose-headers", EXPOSED_HEADERS),
        (b"vary", b"Origin"),
    ]


def preflight_headers() -> list[tuple[bytes, bytes]]:
    """What an allowed CORS preflight adds to the common CORS headers."""
    return [
        (b"access-control-allow-methods", ALLOWED_METHODS),
        (b"access-control-allow-headers", ALLOWED_HEADERS),
        (b"access-control-max-age", b"600"),
    ]


def maybe_gzip(response: Response, request: Request, min_bytes: int) -> None:
    """Gzip large bodies for clients that accept it (level 5: most of the gain, little CPU)."""
    if len(response.body) < min_bytes or b"gzip" not in request.headers.get(
        b"accept-encoding", b""
    ):
        return
    response.body = gzip.compress(response.body, compresslevel=5, mtime=0)
    response.headers.append((b"content-encoding", b"gzip"))
    response.headers.append((b"vary", b"Accept-Encoding"))


def route_deprecation(
    route: Route, configured: dict[tuple[str, str], Deprecation]
) -> Deprecation | None:
    """Deprecated by configuration (per binding) or by the RPC's route option (every binding)."""
    found = configured.get((route.http_method, route.template))
    if found is not None:
        return found
    if not route.options.deprecated:
        return None
    sunset = (
        datetime.fromisoformat(route.options.sunset.replace("Z", "+00:00"))
        if route.options.sunset
        else None
    )
    return Deprecation(sunset=sunset, successor=route.options.successor or None)
