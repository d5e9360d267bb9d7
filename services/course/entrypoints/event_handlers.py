"""Durable consumers of other services' events: the instructor replica (user service) and
enrolment progress (analytics).

Each handler maps the envelope to a command and runs the use case in a fresh unit of work. They
are idempotent (see service_layer/handlers/replicas.py), so a redelivery changes nothing.
"""

from __future__ import annotations

from kernel.consumers import ConsumedEvent, DurableSubscription
from kernel.messaging import stream_name
from kernel.outbox import event_subject
from services.course import mappers
from services.course.service_layer.access import UnitOfWorkFactory
from services.course.service_layer.handlers import replicas
from unpuzzle.user.v1 import user_events_pb2

PROFILE_CONSUMER = "course-user-profiles"
PROGRESS_CONSUMER = "course-progress"


class EventHandlers:
    """Event handlers bound to the service's unit-of-work factory."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def subscriptions(self) -> list[DurableSubscription]:
        """The durable consumers the course service runs (one per producing service)."""
        return [
            DurableSubscription(
                name=PROFILE_CONSUMER,
                stream=stream_name("user"),
                subjects=(
                    event_subject("user", "user.registered"),
                    event_subject("user", "user.profile_updated"),
                ),
                handler=self.user_profile,
            ),
            DurableSubscription(
                name=PROGRESS_CONSUMER,
                stream=stream_name("analytics"),
                subjects=tuple(
                    event_subject("analytics", event_type)
                    for event_type in mappers.PROGRESS_EVENT_TYPES
                ),
                handler=self.course_progress,
            ),
        ]

    async def user_profile(self, event: ConsumedEvent) -> None:
        """user.registered / user.profile_updated -> the instructor replica (older versions are
        ignored), so a course shows its instructor's name before any profile edit."""
        envelope = event.envelope
        payload: user_events_pb2.UserRegistered | user_events_pb2.UserProfileUpdated = (
            user_events_pb2.UserRegistered()
            if envelope.type == "user.registered"
            else user_events_pb2.UserProfileUpdated()
        )
        if not envelope.payload.Unpack(payload):
            raise ValueError(f"{event.subject} does not carry a {payload.DESCRIPTOR.name}")
        await replicas.apply_instructor_profile(
            mappers.instructor_profile_command(payload, envelope.aggregate_version), self._uow()
        )

    async def course_progress(self, event: ConsumedEvent) -> None:
        """course.progress_updated / course.completed -> the student's enrolment."""
        await replicas.apply_progress(mappers.progress_command(event.envelope), self._uow())
