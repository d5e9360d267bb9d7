"""Test databases: fresh PostgreSQL databases per session, migrations off the event loop."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from kernel.migrations import upgrade_to_head
from kernel.settings import SERVICE_NAMES, SERVICE_SCHEMAS, Settings

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = {name: ROOT / "services" / name / "migrations" for name in SERVICE_NAMES}
POSTGRES_URL = os.environ.get("DATABASE_URL", "").strip()
if POSTGRES_URL.startswith("postgresql://"):
    POSTGRES_URL = "postgresql+asyncpg://" + POSTGRES_URL.removeprefix("postgresql://")


def in_thread(function: Callable[[], T]) -> T:
    """Run blocking set-up (which may call asyncio.run) off any running event loop."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(function).result()


def migrate_all(settings: Settings) -> None:
    """Apply every service's migrations to the databases `settings` point at."""
    for service in SERVICE_NAMES:
        upgrade_to_head(MIGRATIONS[service], settings.database(service), SERVICE_SCHEMAS[service])


def admin_url(url: str, database: str) -> str:
    """The same server URL with another database name."""
    return str(sa.engine.make_url(url).set(database=database))


async def create_database(name: str) -> None:
    """CREATE DATABASE on the configured PostgreSQL server."""
    engine = create_async_engine(admin_url(POSTGRES_URL, "postgres"), isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()


async def drop_database(name: str) -> None:
    """DROP DATABASE, disconnecting whoever is still connected."""
    engine = create_async_engine(admin_url(POSTGRES_URL, "postgres"), isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()
