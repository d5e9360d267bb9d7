"""Durable consumers of the course and user services' events."""

from __future__ import annotations

from kernel.consumers import ConsumedEvent, DurableSubscription, EventHandler
from kernel.messaging import stream_name
from kernel.outbox import event_subject
from services.analytics import mappers
from services.analytics.service_layer.handlers import UnitOfWorkFactory, replicas

COURSE_CONSUMER = "analytics-course-events"
USER_CONSUMER = "analytics-user-events"
# Consumer -> (producing service, the event types analytics reads from it).
SOURCES = {
    COURSE_CONSUMER: ("course", mappers.COURSE_EVENTS),
    USER_CONSUMER: ("user", mappers.USER_EVENTS),
}


class EventConsumers:
    """Turns each consumed envelope into a replica command and applies it."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory

    def subscriptions(self) -> list[DurableSubscription]:
        """One durable consumer per producing service."""
        return [
            DurableSubscription(
                name=name,
                stream=stream_name(service),
                # Only the types analytics uses: the server filters out the rest.
                subjects=tuple(event_subject(service, event_type) for event_type in types),
                handler=self._handler(name),
            )
            for name, (service, types) in SOURCES.items()
        ]

    def _handler(self, consumer: str) -> EventHandler:
        async def handle(event: ConsumedEvent) -> None:
            command = mappers.replica_command(event.envelope, consumer)
            if command is not None:  # other event types need nothing from analytics
                await replicas.apply_event(command, self._uow())

        return handle
