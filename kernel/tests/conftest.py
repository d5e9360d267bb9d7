"""Fixtures of the kernel tests: a NATS server per test and scratch databases on both backends."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from deploy.embedded_nats import EmbeddedNats
from kernel.db import Database
from kernel.settings import DatabaseSettings

ScratchDatabase = Callable[[sa.MetaData, str], AbstractAsyncContextManager[Database]]


@pytest.fixture
async def nats_server(tmp_path: Path) -> AsyncIterator[EmbeddedNats]:
    """A nats-server this test may stop and start."""
    server = EmbeddedNats(tmp_path / "js")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def scratch_database(
    db_backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> ScratchDatabase:
    """`async with scratch_database(metadata, "name") as database`: the tables of `metadata` on
    SQLite, or in a throwaway schema of the PostgreSQL test database."""

    @asynccontextmanager
    async def open_database(metadata: sa.MetaData, name: str) -> AsyncIterator[Database]:
        if db_backend == "postgres":
            schema = f"{name}_{uuid.uuid4().hex[:8]}"
            settings = DatabaseSettings(url=request.getfixturevalue("postgres_database"))
        else:
            schema = name
            settings = DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}")
        database = Database(settings, schema=schema, application_name=f"{name}-test")
        async with database.engine.begin() as connection:
            if not database.is_sqlite:
                await connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            await connection.run_sync(metadata.create_all)
        try:
            yield database
        finally:
            if not database.is_sqlite:
                async with database.engine.begin() as connection:
                    await connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            await database.dispose()

    return open_database
