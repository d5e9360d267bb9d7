"""The outbox relay: publishes staged events to JetStream in commit order and marks them sent.

`Nats-Msg-Id` is the event id, so a relay that dies between publishing and marking re-publishes
into JetStream's duplicate window and consumers still see the event once. On PostgreSQL one
replica publishes at a time (a transaction-scoped advisory lock, rows claimed with
`FOR UPDATE SKIP LOCKED`), which keeps per-aggregate order across replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.clock import utc_now
from kernel.db import Database
from kernel.messaging import NatsClient
from kernel.metrics import (
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PUBLISH_FAILURES,
    OUTBOX_PUBLISHED,
)

_log = logging.getLogger(__name__)


class OutboxRelay:
    """Background publisher of one service's outbox."""

    def __init__(
        self,
        *,
        service: str,
        database: Database,
        table: sa.Table,
        nats: NatsClient,
        batch_size: int = 200,
        poll_interval: float = 1.0,
        ack_timeout: float = 5.0,
        retention: timedelta = timedelta(hours=72),
    ) -> None:
        self.service = service
        self._database = database
        self._table = table
        self._nats = nats
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._ack_timeout = ack_timeout
        self._retention = retention
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._lock_key = zlib.crc32(f"unpuzzle-outbox-{service}".encode())

    def wake(self) -> None:
        """Publish soon: called right after a commit that staged events."""
        self._wakeup.set()

    async def run(self) -> None:
        """Publish until `stop()`; errors are logged and retried at the next poll."""
        last_prune = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            published = 0
            try:
                published = await self.publish_pending()
                await self.refresh_backlog_metrics()
                if loop.time() - last_prune > 600:
                    await self.prune_sent()
                    last_prune = loop.time()
            except Exception:
                _log.warning("outbox relay pass failed", exc_info=True)
            if published >= self._batch_size:
                continue  # more is waiting: go straight on
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the task's cancellation.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_interval):
                    await self._wakeup.wait()
            self._wakeup.clear()

    def stop(self) -> None:
        """Ask `run()` to finish after the current pass."""
        self._stopping = True
        self._wakeup.set()

    async def publish_pending(self) -> int:
        """One pass: publish up to a batch of unsent rows; returns how many were marked sent."""
        if not self._nats.connected:
            return 0
        if self._database.is_sqlite:
            # One process owns a SQLite file: read, publish, then mark in a short write
            # transaction, so the write lock is not held while waiting for acks.
            async with self._database.connect(read_only=True) as connection:
                rows = await self._select_batch(connection, lock=False)
            acked = await self._publish(rows)
            async with self._database.write_transaction() as connection:
                await self._mark(connection, rows, acked)
            return sum(acked)
        async with self._database.write_transaction() as connection:
            got_lock = await connection.scalar(
                sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": self._lock_key}
            )
            if not got_lock:
                return 0  # another replica is publishing this outbox
            rows = await self._select_batch(connection, lock=True)
            acked = await self._publish(rows)
            await self._mark(connection, rows, acked)
        return sum(acked)

    async def _select_batch(self, connection: AsyncConnection, *, lock: bool) -> Sequence[Any]:
        table = self._table
        query = (
            sa.select(
                table.c.seq, table.c.event_id, table.c.subject, table.c.payload, table.c.headers
            )
            .where(table.c.sent_at.is_(None))
            .order_by(table.c.seq)
            .limit(self._batch_size)
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        return (await connection.execute(query)).all()

    async def _publish(self, rows: Sequence[Any]) -> list[bool]:
        """Publish in order with asynchronous acks; True per row that JetStream acknowledged."""
        if not rows:
            return []
        js = self._nats.js
        futures: list[asyncio.Future[Any]] = []
        for row in rows:
            headers = {**orjson.loads(row.headers), "Nats-Msg-Id": str(row.event_id)}
            try:
                futures.append(
                    await js.publish_async(
                        row.subject, row.payload, headers=headers, wait_stall=self._ack_timeout
                    )
                )
            except Exception:
                _log.warning("outbox publish failed", exc_info=True)
                break
        results = await asyncio.gather(
            *(asyncio.wait_for(future, self._ack_timeout) for future in futures),
            return_exceptions=True,
        )
        acked = [not isinstance(result, BaseException) for result in results]
        # Only a prefix counts as sent: a later row is retried together with the failed one.
        if False in acked:
            first_failure = acked.index(False)
            acked = [True] * first_failure + [False] * (len(acked) - first_failure)
        acked += [False] * (len(rows) - len(acked))
        OUTBOX_PUBLISHED.labels(self.service).inc(sum(acked))
        if not all(acked):
            OUTBOX_PUBLISH_FAILURES.labels(self.service).inc(len(acked) - sum(acked))
        return acked

    async def _mark(
        self, connection: AsyncConnection, rows: Sequence[Any], acked: list[bool]
    ) -> None:
        table = self._table
        sent = [row.seq for row, ok in zip(rows, acked, strict=True) if ok]
        failed = [row.seq for row, ok in zip(rows, acked, strict=True) if not ok]
        if sent:
            await connection.execute(
                sa.update(table).where(table.c.seq.in_(sent)).values(sent_at=utc_now())
            )
        if failed:
            await connection.execute(
                sa.update(table)
                .where(table.c.seq.in_(failed))
                .values(attempts=table.c.attempts + 1, last_error="not acknowledged by JetStream")
            )

    async def refresh_backlog_metrics(self) -> None:
        """Export the number of unsent rows and the age of the oldest one."""
        table = self._table
        async with self._database.connect(read_only=True) as connection:
            count, oldest = (
                await connection.execute(
                    sa.select(sa.func.count(), sa.func.min(table.c.created_at)).where(
                        table.c.sent_at.is_(None)
                    )
                )
            ).one()
        OUTBOX_BACKLOG.labels(self.service).set(count)
        age = 0.0
        if oldest is not None:
            age = max(0.0, (utc_now() - oldest).total_seconds())
        OUTBOX_OLDEST_AGE.labels(self.service).set(age)

    async def prune_sent(self) -> int:
        """Delete rows sent longer ago than the retention period."""
        table = self._table
        cutoff = utc_now() - self._retention
        async with self._database.write_transaction() as connection:
            result = await connection.execute(
                sa.delete(table).where(table.c.sent_at.is_not(None), table.c.sent_at < cutoff)
            )
        return int(result.rowcount or 0)
