"""Settings of the gateway's edge behaviour (limits, CORS, caching), from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

from kernel.settings import SettingsError

# Requests per period, per caller (user when signed in, else client IP), per route class.
DEFAULT_RATE_LIMITS = "auth=20/60,write=120/60,read=1200/60,progress=600/60"


@dataclass(frozen=True)
class RateLimit:
    """`limit` requests per `period_seconds`, with bursts up to `limit`."""

    limit: int
    period_seconds: float

    @property
    def emission_interval(self) -> float:
        """Seconds between two requests at the sustained rate."""
        return self.period_seconds / self.limit


def parse_rate_limits(raw: str) -> dict[str, RateLimit]:
    """`"auth=20/60,write=120/60"` -> {"auth": RateLimit(20, 60), ...}; SettingsError if bad."""
    limits: dict[str, RateLimit] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        try:
            name, spec = item.split("=", 1)
            count, period = spec.split("/", 1)
            limit = RateLimit(int(count), float(period))
        except ValueError as exc:
            raise SettingsError(
                f"RATE_LIMITS entry {item!r} must look like name=count/seconds"
            ) from exc
        if limit.limit <= 0 or limit.period_seconds <= 0:
            raise SettingsError(f"RATE_LIMITS entry {item!r} must be positive")
        limits[name.strip()] = limit
    return limits


@dataclass(frozen=True)
class EdgeSettings:
    """What the gateway enforces before and after calling a service."""

    cors_origins: frozenset[str] = frozenset({"http://localhost:3000"})
    rate_limits: dict[str, RateLimit] = field(
        default_factory=lambda: parse_rate_limits(DEFAULT_RATE_LIMITS)
    )
    rate_limit_enabled: bool = True
    max_body_bytes: int = 1024 * 1024
    max_json_depth: int = 32
    body_timeout_seconds: float = 10.0
    gzip_min_bytes: int = 1024
    public_max_age_seconds: int = 30
    idempotency_ttl_seconds: int = 24 * 3600
    hsts: str = "max-age=31536000; includeSubDomains"
    # Proxies whose X-Forwarded-For gives the client address (per-address limits, throttling).
    forwarded_allow_ips: str = "127.0.0.1"


def load_edge_settings() -> EdgeSettings:
    """Read the gateway's edge settings from the environment."""
    env = os.environ
    origins = env.get("CORS_ALLOWED_ORIGINS", "http://localhost:3000")
    return EdgeSettings(
        cors_origins=frozenset(o.strip().rstrip("/") for o in origins.split(",") if o.strip()),
        rate_limits=parse_rate_limits(env.get("RATE_LIMITS", DEFAULT_RATE_LIMITS)),
        rate_limit_enabled=env.get("RATE_LIMIT_ENABLED", "true").lower()
        not in {"0", "false", "no"},
        max_body_bytes=int(env.get("MAX_BODY_BYTES", str(1024 * 1024))),
        max_json_depth=int(env.get("MAX_JSON_DEPTH", "32")),
        body_timeout_seconds=float(env.get("BODY_TIMEOUT_SECONDS", "10")),
        gzip_min_bytes=int(env.get("GZIP_MIN_BYTES", "1024")),
        public_max_age_seconds=int(env.get("PUBLIC_MAX_AGE_SECONDS", "30")),
        forwarded_allow_ips=env.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
    )


@dataclass(frozen=True)
class Deprecation:
    """A route that still works but will go away."""

    sunset: datetime | None
    successor: str | None

    def headers(self) -> list[tuple[bytes, bytes]]:
        """`Deprecation`, `Sunset` (RFC 8594) and `Link: <...>; rel="successor-version"`."""
        headers = [(b"deprecation", b"true")]
        if self.sunset is not None:
            headers.append((b"sunset", format_datetime(self.sunset, usegmt=True).encode()))
        if self.successor:
            headers.append((b"link", f'<{self.successor}>; rel="successor-version"'.encode()))
        return headers


# Deprecated alias bindings (method, path template) -> when they go away and what replaces them.
# Whole RPCs are deprecated in the proto instead: (unpuzzle.common.v1.route) = {deprecated: true}.
DEPRECATED_BINDINGS: dict[tuple[str, str], Deprecation] = {
    ("GET", "/api/v1/catalog/courses/{course_id_or_slug}"): Deprecation(
        sunset=datetime(2027, 6, 30, tzinfo=UTC), successor="/api/v1/courses/{courseIdOrSlug}"
    ),
}
