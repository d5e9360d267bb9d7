"""Building blocks of every service's domain model: aggregates and the events they raise."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar
from uuid import UUID, uuid4

from kernel.clock import utc_now


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Something that happened; subclasses add the facts as frozen fields."""

    event_id: UUID = field(default_factory=uuid4)
    occurred_at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True)
class RaisedEvent:
    """A domain event with the aggregate identity and version it was raised at."""

    event: DomainEvent
    aggregate_type: str
    aggregate_id: str
    aggregate_version: int


class Aggregate:
    """Mixin for aggregate roots: they record events that the Unit of Work collects on commit."""

    aggregate_type: ClassVar[str]

    def aggregate_key(self) -> str:
        """The aggregate's identity as it appears in events (its id by default)."""
        return str(getattr(self, "id"))  # noqa: B009 - every aggregate has an id

    def record(self, event: DomainEvent) -> None:
        """Remember an event raised by a change to this aggregate."""
        pending: list[RaisedEvent] = self.__dict__.setdefault("_raised_events", [])
        pending.append(
            RaisedEvent(
                event=event,
                aggregate_type=self.aggregate_type,
                aggregate_id=self.aggregate_key(),
                aggregate_version=int(getattr(self, "version", 0)),
            )
        )

    def pull_events(self) -> list[RaisedEvent]:
        """Hand over and forget the events recorded so far."""
        pending: list[RaisedEvent] = self.__dict__.pop("_raised_events", [])
        return pending
