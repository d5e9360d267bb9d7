"""The one translation between protobuf messages and the analytics domain."""

from __future__ import annotations

from kernel.domain import RaisedEvent
from kernel.outbox import EventPayload


def event_payload(raised: RaisedEvent) -> EventPayload:
    """Domain event -> (event type, protobuf payload) for the outbox."""
    raise TypeError(f"no event mapping for {type(raised.event).__name__}")
