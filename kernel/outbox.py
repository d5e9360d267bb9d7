"""The transactional outbox and inbox tables, and turning raised events into outbox rows.

Every service has the same two tables in its own schema: `outbox` (events staged in the
business transaction, published later by the relay) and `inbox` (ids of events a consumer has
already handled, written in the same transaction as the handler's effect).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from opentelemetry import propagate

from kernel.clock import utc_now
from kernel.db import UtcDateTime
from kernel.domain import RaisedEvent
from unpuzzle.common.v1 import events_pb2


def define_outbox_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    """Add the `outbox` and `inbox` tables to a service's metadata and return them."""
    outbox = sa.Table(
        "outbox",
        metadata,
        # Commit order; the relay publishes by ascending seq.
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("aggregate_type", sa.String(50), nullable=False),
        sa.Column("aggregate_id", sa.String(100), nullable=False),
        sa.Column("aggregate_version", sa.BigInteger, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("sent_at", UtcDateTime, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
        # The relay's scan: unsent rows in seq order.
        sa.Index(
            "ix_outbox_unsent",
            "seq",
            sqlite_where=sa.text("sent_at IS NULL"),
            postgresql_where=sa.text("sent_at IS NULL"),
        ),
        sa.Index("ix_outbox_sent_at", "sent_at"),
    )
    inbox = sa.Table(
        "inbox",
        metadata,
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.Uuid, primary_key=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("handled_at", UtcDateTime, nullable=False),
    )
    return outbox, inbox


@dataclass(frozen=True)
class EventPayload:
    """What a service's event mapper returns for one domain event."""

    event_type: str  # "course.created"
    message: Message  # unpuzzle.course.v1.CourseCreated


EventMapper = Callable[[RaisedEvent], EventPayload]


def event_subject(producer: str, event_type: str) -> str:
    """NATS subject of an event: `unpuzzle.<service>.<aggregate>.<event>.v1`."""
    return f"unpuzzle.{producer}.{event_type}.v1"


class OutboxWriter:
    """Builds outbox rows (envelope bytes + trace headers) for the events of one commit."""

    def __init__(self, table: sa.Table, producer: str, mapper: EventMapper) -> None:
        self.table = table
        self.producer = producer
        self._mapper = mapper

    def rows(self, raised: list[RaisedEvent]) -> list[dict[str, Any]]:
        """Outbox rows for the raised events, trace context captured now, at staging time."""
        headers: dict[str, str] = {}
        propagate.inject(headers)
        encoded_headers = orjson.dumps(headers).decode()
        now = utc_now()
        rows = []
        for item in raised:
            payload = self._mapper(item)
            envelope = events_pb2.EventEnvelope(
                id=str(item.event.event_id),
                type=payload.event_type,
                occurred_at=_timestamp(item),
                producer=self.producer,
                aggregate_type=item.aggregate_type,
                aggregate_id=item.aggregate_id,
                aggregate_version=item.aggregate_version,
            )
            envelope.payload.Pack(payload.message)
            rows.append(
                {
                    "event_id": item.event.event_id,
                    "subject": event_subject(self.producer, payload.event_type),
                    "event_type": payload.event_type,
                    "aggregate_type": item.aggregate_type,
                    "aggregate_id": item.aggregate_id,
                    "aggregate_version": item.aggregate_version,
                    "payload": envelope.SerializeToString(),
                    "headers": encoded_headers,
                    "created_at": now,
                }
            )
        return rows

    async def stage(self, connection: Any, raised: list[RaisedEvent]) -> int:
        """Insert the rows on the caller's connection (inside its transaction)."""
        if not raised:
            return 0
        await connection.execute(sa.insert(self.table), self.rows(raised))
        return len(raised)


def _timestamp(item: RaisedEvent) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(item.event.occurred_at)
    return stamp
