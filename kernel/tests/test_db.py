"""SQLite write transactions take turns inside the process instead of in SQLite's busy handler."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from kernel.db import Database
from kernel.settings import DatabaseSettings


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[Database]:
    settings = DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    database = Database(settings, schema="turns", application_name="turns-test")
    async with database.write_transaction() as connection:
        await connection.execute(sa.text("CREATE TABLE counter (n INTEGER)"))
        await connection.execute(sa.text("INSERT INTO counter VALUES (0)"))
    yield database
    await database.dispose()


async def _increment(database: Database) -> None:
    async with database.write_transaction() as connection:
        await connection.execute(sa.text("UPDATE counter SET n = n + 1"))


async def test_a_second_writer_waits_for_its_turn_without_taking_a_connection(sqlite: Database):
    async with sqlite.write_transaction() as connection:
        await connection.execute(sa.text("UPDATE counter SET n = n + 1"))
        second = asyncio.create_task(_increment(sqlite))
        await asyncio.sleep(0.1)
        assert not second.done()
        # Waiting in SQLite would hold a second pooled connection in its busy handler.
        assert sqlite.engine.pool.checkedout() == 1  # type: ignore[attr-defined]
        async with sqlite.connect(read_only=True) as reader:  # readers are not queued
            assert await reader.scalar(sa.text("SELECT n FROM counter")) == 0
    await second
    async with sqlite.connect(read_only=True) as reader:
        assert await reader.scalar(sa.text("SELECT n FROM counter")) == 2


async def test_many_concurrent_writers_all_commit(sqlite: Database):
    await asyncio.gather(*(_increment(sqlite) for _ in range(50)))
    async with sqlite.connect(read_only=True) as reader:
        assert await reader.scalar(sa.text("SELECT n FROM counter")) == 50


async def test_a_writer_gives_up_after_the_statement_timeout(tmp_path: Path):
    settings = DatabaseSettings(
        url=f"sqlite+aiosqlite:///{tmp_path / 'slow.db'}", statement_timeout_ms=100
    )
    database = Database(settings, schema="slow", application_name="turns-test")
    try:
        assert await database.acquire_writer()
        with pytest.raises(TimeoutError):
            await database.acquire_writer()
        database.release_writer()
        assert await database.acquire_writer()  # the turn was handed back
        database.release_writer()
    finally:
        await database.dispose()
