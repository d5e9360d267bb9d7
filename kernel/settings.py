"""Process settings read from environment variables, with defaults that run on one machine."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

SERVICE_NAMES = ("user", "course", "analytics")
DEFAULT_GRPC_PORTS = {"user": 50051, "course": 50052, "analytics": 50053}
DEFAULT_METRICS_PORTS = {"user": 9101, "course": 9102, "analytics": 9103}
# PostgreSQL schema owned by each service ("user" is a reserved word, hence "identity").
SERVICE_SCHEMAS = {"user": "identity", "course": "course", "analytics": "analytics"}


class SettingsError(ValueError):
    """An environment variable holds a value that cannot be used."""


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


def _env_float(name: str, default: float) -> float:
    raw = _env(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name).lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be a boolean, got {raw!r}")


@dataclass(frozen=True, kw_only=True)
class DatabaseSettings:
    """Connection pool and timeout settings shared by every service's engine."""

    url: str
    pool_size: int = 10
    max_overflow: int = 5
    pool_timeout_seconds: float = 5.0
    pool_recycle_seconds: int = 1800
    statement_timeout_ms: int = 10_000
    connect_timeout_seconds: float = 5.0
    echo: bool = False

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded SQLite default."""
        return self.url.startswith("sqlite")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a process needs to know about its environment."""

    run_dir: Path
    database_url: str | None
    redis_url: str | None
    nats_url: str | None
    environment: str = "development"
    log_level: str = "INFO"
    log_json: bool = True
    otel_endpoint: str | None = None
    grpc_ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_GRPC_PORTS))
    metrics_ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_METRICS_PORTS))
    service_addresses: dict[str, str] = field(default_factory=dict)
    listen_host: str = "127.0.0.1"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    backend_deadline_seconds: float = 10.0
    shutdown_drain_seconds: float = 1.0
    shutdown_grace_seconds: float = 3.0
    db_pool_size: int = 10
    db_max_overflow: int = 5
    db_pool_timeout_seconds: float = 5.0
    db_statement_timeout_ms: int = 10_000
    db_echo: bool = False
    nats_stream_replicas: int = 1
    outbox_poll_interval_seconds: float = 1.0
    outbox_batch_size: int = 200
    outbox_retention_hours: float = 72.0
    page_token_secret: str = "dev-page-token-secret"  # noqa: S105 - development default
    jwt_keys_dir: Path | None = None
    jwt_public_keys_file: Path | None = None
    jwt_active_kid: str | None = None
    jwt_issuer: str = "https://auth.unpuzzle.local"
    jwt_audience: str = "unpuzzle-api"
    cookie_secure: bool = True
    admin_email: str = "admin@unpuzzle.local"
    admin_password: str = "unpuzzle-admin-dev"  # noqa: S105 - development default, see README

    def database(self, service: str) -> DatabaseSettings:
        """Database settings for one service: its SQLite file, or the shared PostgreSQL URL."""
        url = self.database_url or f"sqlite+aiosqlite:///{self.run_dir / f'{service}.db'}"
        return DatabaseSettings(
            url=url,
            pool_size=self.db_pool_size,
            max_overflow=self.db_max_overflow,
            pool_timeout_seconds=self.db_pool_timeout_seconds,
            statement_timeout_ms=self.db_statement_timeout_ms,
            echo=self.db_echo,
        )

    @property
    def signing_keys_dir(self) -> Path:
        """Directory of the Ed25519 private keys (`<kid>.pem`) and `jwks.json`."""
        return self.jwt_keys_dir or self.run_dir / "keys"

    @property
    def public_keys_file(self) -> Path:
        """JWKS file every service verifies access tokens with."""
        return self.jwt_public_keys_file or self.signing_keys_dir / "jwks.json"

    @property
    def uses_development_admin(self) -> bool:
        """True when UNPUZZLE_ADMIN_PASSWORD was left at its published development default."""
        return self.admin_password == Settings.admin_password

    def grpc_target(self, service: str) -> str:
        """Address clients dial for a service (round-robin DNS targets in Kubernetes)."""
        return self.service_addresses.get(service) or f"127.0.0.1:{self.grpc_ports[service]}"


def load_settings() -> Settings:
    """Read settings from the environment; raises SettingsError naming a bad variable."""
    run_dir = Path(_env("UNPUZZLE_RUN_DIR", ".run")).resolve()
    grpc_ports = {
        name: _env_int(f"{name.upper()}_PORT", port) for name, port in DEFAULT_GRPC_PORTS.items()
    }
    metrics_ports = {
        name: _env_int(f"{name.upper()}_METRICS_PORT", port)
        for name, port in DEFAULT_METRICS_PORTS.items()
    }
    addresses = {
        name: _env(f"{name.upper()}_SERVICE_ADDR")
        for name in SERVICE_NAMES
        if _env(f"{name.upper()}_SERVICE_ADDR")
    }
    database_url = _env("DATABASE_URL") or None
    if database_url and database_url.startswith("postgresql://"):
        # Accept the conventional URL and pick the asyncio driver ourselves.
        database_url = "postgresql+asyncpg://" + database_url.removeprefix("postgresql://")
    if database_url and not database_url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite")):
        raise SettingsError("DATABASE_URL must be a postgresql:// or sqlite+aiosqlite:// URL")
    return Settings(
        run_dir=run_dir,
        database_url=database_url,
        redis_url=_env("REDIS_URL") or None,
        nats_url=_env("NATS_URL") or None,
        environment=_env("UNPUZZLE_ENV", "development"),
        log_level=_env("LOG_LEVEL", "INFO").upper(),
        log_json=_env_bool("LOG_JSON", True),
        otel_endpoint=_env("OTEL_EXPORTER_OTLP_ENDPOINT") or None,
        grpc_ports=grpc_ports,
        metrics_ports=metrics_ports,
        service_addresses=addresses,
        listen_host=_env("LISTEN_HOST", "127.0.0.1"),
        gateway_host=_env("GATEWAY_HOST", "127.0.0.1"),
        gateway_port=_env_int("GATEWAY_PORT", 8080),
        backend_deadline_seconds=_env_float("BACKEND_DEADLINE_SECONDS", 10.0),
        shutdown_drain_seconds=_env_float("SHUTDOWN_DRAIN_SECONDS", 1.0),
        shutdown_grace_seconds=_env_float("SHUTDOWN_GRACE_SECONDS", 3.0),
        db_pool_size=_env_int("DB_POOL_SIZE", 10),
        db_max_overflow=_env_int("DB_MAX_OVERFLOW", 5),
        db_pool_timeout_seconds=_env_float("DB_POOL_TIMEOUT_SECONDS", 5.0),
        db_statement_timeout_ms=_env_int("DB_STATEMENT_TIMEOUT_MS", 10_000),
        db_echo=_env_bool("DB_ECHO", False),
        nats_stream_replicas=_env_int("NATS_STREAM_REPLICAS", 1),
        outbox_poll_interval_seconds=_env_float("OUTBOX_POLL_INTERVAL_SECONDS", 1.0),
        outbox_batch_size=_env_int("OUTBOX_BATCH_SIZE", 200),
        outbox_retention_hours=_env_float("OUTBOX_RETENTION_HOURS", 72.0),
        page_token_secret=_env("PAGE_TOKEN_SECRET", "dev-page-token-secret"),
        jwt_keys_dir=Path(_env("JWT_KEYS_DIR")) if _env("JWT_KEYS_DIR") else None,
        jwt_public_keys_file=(
            Path(_env("JWT_PUBLIC_KEYS_FILE")) if _env("JWT_PUBLIC_KEYS_FILE") else None
        ),
        jwt_active_kid=_env("JWT_ACTIVE_KID") or None,
        jwt_issuer=_env("JWT_ISSUER", "https://auth.unpuzzle.local"),
        jwt_audience=_env("JWT_AUDIENCE", "unpuzzle-api"),
        cookie_secure=_env_bool("COOKIE_SECURE", True),
        admin_email=_env("UNPUZZLE_ADMIN_EMAIL", "admin@unpuzzle.local"),
        admin_password=_env("UNPUZZLE_ADMIN_PASSWORD", "unpuzzle-admin-dev"),
    )
