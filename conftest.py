"""Shared pytest fixtures: databases (SQLite always, PostgreSQL when DATABASE_URL is set),
NATS (NATS_URL or a nats-server started for the session) and Redis (REDIS_URL or skipped)."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from deploy.embedded_nats import EmbeddedNats
from kernel.jwt_keys import ensure_dev_keys
from kernel.settings import SERVICE_NAMES, SERVICE_SCHEMAS, Settings, load_settings
from tests.auth import TokenFactory
from tests.databases import (
    POSTGRES_URL,
    admin_url,
    create_database,
    drop_database,
    in_thread,
    migrate_all,
)
from tests.support import open_gateway_client

T = TypeVar("T")
ROOT = Path(__file__).parent
MIGRATIONS = {name: ROOT / "services" / name / "migrations" for name in SERVICE_NAMES}
DB_BACKENDS = ["sqlite", "postgres"]


def pytest_report_header() -> list[str]:
    """Say which real servers this run talks to."""
    return [
        f"postgres: {'DATABASE_URL set' if POSTGRES_URL else 'not configured (SQLite only)'}",
        f"nats: {os.environ.get('NATS_URL') or 'nats-server started by the test session'}",
        f"redis: {os.environ.get('REDIS_URL') or 'not configured (Redis tests skipped)'}",
    ]


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated for every service."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured: set DATABASE_URL to run the PostgreSQL variant")
    name = f"unpuzzle_test_{uuid.uuid4().hex[:10]}"
    in_thread(lambda: asyncio.run(create_database(name)))
    url = admin_url(POSTGRES_URL, name)
    in_thread(lambda: migrate_all(replace(load_settings(), database_url=url)))
    yield url
    in_thread(lambda: asyncio.run(drop_database(name)))


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One migrated SQLite file per service, copied for each test."""
    directory = tmp_path_factory.mktemp("sqlite-templates")
    in_thread(lambda: migrate_all(replace(load_settings(), run_dir=directory, database_url=None)))
    return {service: directory / f"{service}.db" for service in SERVICE_NAMES}


# Seeded by migrations and never written by tests: truncating them would lose the RBAC catalogue.
REFERENCE_TABLES = ("alembic_version", "roles", "permissions", "role_permissions")


async def _truncate_all(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        for schema in SERVICE_SCHEMAS.values():
            tables = (
                await connection.execute(
                    sa.text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = :schema "
                        "AND tablename <> ALL(:kept)"
                    ),
                    {"schema": schema, "kept": list(REFERENCE_TABLES)},
                )
            ).scalars()
            names = ", ".join(f'"{schema}"."{table}"' for table in tables)
            if names:
                await connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A signing key and its JWKS for the test session."""
    directory = tmp_path_factory.mktemp("keys")
    ensure_dev_keys(directory)
    return directory


@pytest.fixture(params=DB_BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    """Run the test once on SQLite and once on PostgreSQL (skipped without DATABASE_URL)."""
    return str(request.param)


@pytest.fixture
async def settings(
    db_backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    isolated_nats_url: str,
    keys_dir: Path,
) -> AsyncIterator[Settings]:
    """Settings for in-process services on empty, migrated databases and the test NATS."""
    base = replace(
        load_settings(),
        run_dir=tmp_path,
        nats_url=isolated_nats_url,
        redis_url=None,
        grpc_ports=dict.fromkeys(SERVICE_NAMES, 0),
        shutdown_drain_seconds=0.0,
        shutdown_grace_seconds=0.5,
        outbox_poll_interval_seconds=0.2,
        jwt_keys_dir=keys_dir,
        jwt_public_keys_file=None,
    )
    if db_backend == "postgres":
        url = request.getfixturevalue("postgres_database")
        await _truncate_all(url)
        yield replace(base, database_url=url)
        return
    templates: dict[str, Path] = request.getfixturevalue("sqlite_templates")
    for service, template in templates.items():
        shutil.copy(template, tmp_path / f"{service}.db")
    yield replace(base, database_url=None)


@pytest.fixture(scope="session")
def isolated_nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A nats-server (the production binary) owned by this test session.

    Services under test create durable consumers with their production names and replay streams
    from the start; on a shared, long-lived server those would pick up other runs' events. The
    configured NATS_URL is exercised by the tests that use `nats_url` with unique stream names.
    """
    server = EmbeddedNats(tmp_path_factory.mktemp("nats-isolated"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def nats_url(request: pytest.FixtureRequest) -> str:
    """NATS_URL when given, else the session's own nats-server (one server, not two)."""
    configured = os.environ.get("NATS_URL", "").strip()
    return configured or str(request.getfixturevalue("isolated_nats_url"))


@pytest.fixture(scope="session")
def redis_url() -> str:
    """REDIS_URL, or skip the test with the reason printed."""
    configured = os.environ.get("REDIS_URL", "").strip()
    if not configured:
        pytest.skip("Redis not configured: set REDIS_URL to run Redis tests")
    return configured


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[dict[str, Any]]:
    """All three services started in-process on free ports (empty databases, test NATS)."""
    from services.analytics.bootstrap import bootstrap as analytics_bootstrap
    from services.course.bootstrap import bootstrap as course_bootstrap
    from services.user.bootstrap import bootstrap as user_bootstrap

    started = {
        "user": user_bootstrap(settings),
        "course": course_bootstrap(settings),
        "analytics": analytics_bootstrap(settings),
    }
    for service in started.values():
        await service.runtime.start()
    for service in started.values():
        await service.infra.nats.wait_ready(10)
        assert await service.runtime.refresh_readiness()
    yield started
    for service in started.values():
        await service.runtime.stop()


@pytest.fixture
def tokens(settings: Settings) -> TokenFactory:
    """Signs access tokens with the session's test key."""
    return TokenFactory(settings)


@pytest.fixture
def gateway_settings(settings: Settings, services: dict[str, Any]) -> Settings:
    """Settings pointing the gateway at the in-process services."""
    return replace(
        settings,
        service_addresses={
            name: f"127.0.0.1:{service.runtime.bound_port}" for name, service in services.items()
        },
        backend_deadline_seconds=3.0,
    )


@pytest.fixture
async def gateway(gateway_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an in-process gateway whose backends are the in-process services."""
    from gateway.app import create_app

    app = create_app(gateway_settings)
    client = await open_gateway_client(app)
    yield client
    await client.aclose()
    await app.backends.close()


@pytest.fixture(scope="session")
def span_exporter() -> Any:
    """Collects finished spans in memory (an SDK tracer provider installed for the session)."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter
