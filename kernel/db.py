"""Async SQLAlchemy engines for one service: PostgreSQL (own schema) or a SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from kernel.settings import DatabaseSettings

_log = logging.getLogger(__name__)
# Execution option marking the read-only engine (SQLite: deferred BEGIN instead of IMMEDIATE).
_READ_ONLY = "unpuzzle_read_only"


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store UTC; naive values are rejected because they are ambiguous."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to what SQLite hands back naive."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Database:
    """The engines of one service: a write engine and a read-only view of the same pool."""

    def __init__(self, settings: DatabaseSettings, *, schema: str, application_name: str) -> None:
        self.settings = settings
        self.schema = None if settings.is_sqlite else schema
        self.engine = _create_engine(settings, schema, application_name)
        readonly_option = (
            {_READ_ONLY: True} if settings.is_sqlite else {"postgresql_readonly": True}
        )
        self.read_engine = self.engine.execution_options(**readonly_option)
        # SQLite has one writer. Contending connections would wait in its busy handler, which
        # sleeps up to 100 ms between retries (p99 writes over 1 s under load); queueing the
        # writers of this process on a lock hands the write lock over at once, in order.
        self._writers = asyncio.Lock() if settings.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        """True when the service runs on its embedded SQLite file."""
        return self.settings.is_sqlite

    async def ping(self) -> bool:
        """True when a `SELECT 1` succeeds; used by the readiness probe."""
        try:
            async with self.read_engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))
        except Exception:
            _log.warning("database ping failed", exc_info=True)
            return False
        return True

    def connect(self, *, read_only: bool = False) -> AsyncConnection:
        """A pooled connection; use as `async with database.connect() as connection:`."""
        return (self.read_engine if read_only else self.engine).connect()

    async def acquire_writer(self) -> bool:
        """Wait for this process's turn to write (SQLite only); True when a turn was taken.

        Pair with `release_writer()`. Gives up after the statement timeout, like SQLite would.
        """
        if self._writers is None:
            return False
        async with asyncio.timeout(self.settings.statement_timeout_ms / 1000):
            await self._writers.acquire()
        return True

    def release_writer(self) -> None:
        """End the turn taken by `acquire_writer()`."""
        if self._writers is not None:
            self._writers.release()

    @contextlib.asynccontextmanager
    async def write_transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a write transaction, committed on success, during a writer turn."""
        taken = await self.acquire_writer()
        try:
            async with self.engine.connect() as connection, connection.begin():
                yield connection
        finally:
            if taken:
                self.release_writer()

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def _create_engine(settings: DatabaseSettings, schema: str, application_name: str) -> AsyncEngine:
    if settings.is_sqlite:
        return _create_sqlite_engine(settings)
    connect_args: dict[str, Any] = {
        "timeout": settings.connect_timeout_seconds,
        "server_settings": {
            # Unqualified names resolve to the service's own schema.
            "search_path": f"{schema},public",
            "statement_timeout": str(settings.statement_timeout_ms),
            "application_name": application_name,
        },
    }
    return create_async_engine(
        settings.url,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_seconds,
        pool_recycle=settings.pool_recycle_seconds,
        pool_pre_ping=True,
        echo=settings.echo,
        connect_args=connect_args,
    )


def _create_sqlite_engine(settings: DatabaseSettings) -> AsyncEngine:
    path = settings.url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        settings.url,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_seconds,
        pool_pre_ping=True,
        echo=settings.echo,
        connect_args={"timeout": settings.statement_timeout_ms / 1000},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from pysqlite so BEGIN is issued by us (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={settings.statement_timeout_ms}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # Writers take the write lock up front: a deferred transaction that reads and then
        # writes fails at once with SQLITE_BUSY when another writer got there first.
        read_only = connection.get_execution_options().get(_READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
