"""The Unit of Work: one transaction per use case, domain events staged in the same commit."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.clock import utc_now
from kernel.db import Database
from kernel.domain import Aggregate, RaisedEvent
from kernel.outbox import OutboxWriter


class TrackingRepository:
    """Base for repositories: remembers the aggregates it handed out or was given."""

    def __init__(self) -> None:
        self.seen: list[Aggregate] = []

    def _track(self, aggregate: Any) -> Any:
        if aggregate is not None and all(aggregate is not known for known in self.seen):
            self.seen.append(aggregate)
        return aggregate


class AbstractUnitOfWork(abc.ABC):
    """Rolls back unless `commit()` was called; collects events from every repository."""

    committed: bool = False

    async def __aenter__(self) -> Self:
        self.committed = False
        await self._begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if not self.committed:
                await self.rollback()
        finally:
            await self._close()

    async def commit(self) -> None:
        """Stage the raised events and commit, atomically."""
        await self._stage(list(self.collect_new_events()))
        await self._commit()
        self.committed = True

    def collect_new_events(self) -> Iterator[RaisedEvent]:
        """Events raised by the aggregates the repositories saw, in the order raised."""
        for repository in self.repositories():
            for aggregate in repository.seen:
                yield from aggregate.pull_events()

    async def claim_event(self, consumer: str, event_id: str, event_type: str) -> bool:
        """Record that `consumer` handles this event now; False if it already did (a duplicate).

        In-memory default for fakes; the SQL unit of work writes the inbox table in its
        transaction, so the record and the handler's effect commit (or roll back) together.
        """
        claimed: set[tuple[str, str]] = self.__dict__.setdefault("_claimed_events", set())
        if (consumer, event_id) in claimed:
            return False
        claimed.add((consumer, event_id))
        return True

    @abc.abstractmethod
    def repositories(self) -> Iterable[TrackingRepository]:
        """Every repository of this unit of work."""

    @abc.abstractmethod
    async def _begin(self) -> None: ...

    @abc.abstractmethod
    async def _stage(self, events: list[RaisedEvent]) -> None: ...

    @abc.abstractmethod
    async def _commit(self) -> None: ...

    @abc.abstractmethod
    async def rollback(self) -> None:
        """Undo everything done in this unit of work."""

    async def _close(self) -> None:  # noqa: B027 - optional hook with a no-op default
        """Release resources; nothing to do by default."""


class SqlUnitOfWork(AbstractUnitOfWork):
    """A Unit of Work over one pooled connection, with the outbox written in its transaction.

    Subclasses build their repositories in `_create_repositories(connection)`.
    """

    def __init__(
        self,
        database: Database,
        outbox: OutboxWriter,
        *,
        read_only: bool = False,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._database = database
        self._outbox = outbox
        self._read_only = read_only
        self._on_commit = on_commit
        self._connection: AsyncConnection | None = None
        self._writer_turn = False
        self._staged_events = 0

    @property
    def connection(self) -> AsyncConnection:
        """The connection of the open transaction."""
        if self._connection is None:
            raise RuntimeError("the unit of work is not open; use `async with uow:`")
        return self._connection

    @abc.abstractmethod
    def _create_repositories(self, connection: AsyncConnection) -> None:
        """Attach this unit of work's repositories to the open connection."""

    async def claim_event(self, consumer: str, event_id: str, event_type: str) -> bool:
        """Insert into the inbox unless the row exists; True when this call inserted it."""
        inbox = self._outbox.table.metadata.tables["inbox"]
        insert = (
            sqlite_insert(inbox)
            if self.connection.dialect.name == "sqlite"
            else postgres_insert(inbox)
        )
        result = await self.connection.execute(
            insert.values(
                consumer=consumer,
                event_id=UUID(event_id),
                event_type=event_type,
                handled_at=utc_now(),
            ).on_conflict_do_nothing()
        )
        return bool(result.rowcount)

    async def _begin(self) -> None:
        if not self._read_only:
            self._writer_turn = await self._database.acquire_writer()
        try:
            self._connection = await self._database.connect(read_only=self._read_only)
            await self._connection.begin()
        except BaseException:
            await self._close()
            raise
        self._create_repositories(self._connection)

    async def _stage(self, events: list[RaisedEvent]) -> None:
        if events and self._read_only:
            raise RuntimeError("a read-only unit of work cannot stage events")
        self._staged_events = await self._outbox.stage(self.connection, events)

    async def _commit(self) -> None:
        await self.connection.commit()
        if self._on_commit is not None and self._staged_events:
            # Wake the relay so the events leave right after the commit, not at the next poll.
            self._on_commit()

    async def rollback(self) -> None:
        """Roll back the open transaction, if any."""
        if self._connection is not None and self._connection.in_transaction():
            await self._connection.rollback()

    async def _close(self) -> None:
        try:
            if self._connection is not None:
                connection, self._connection = self._connection, None
                await connection.close()
        finally:
            if self._writer_turn:
                self._writer_turn = False
                self._database.release_writer()
