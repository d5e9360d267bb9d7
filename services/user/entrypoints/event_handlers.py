"""The consumer of course-service events behind instructor stats (service_layer/teaching.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from google.protobuf.message import Message

from kernel.consumers import ConsumedEvent, DurableSubscription
from kernel.messaging import stream_name
from kernel.outbox import event_subject
from services.user.service_layer.teaching import TeachingFact, apply_teaching_fact
from services.user.service_layer.unit_of_work import UserUnitOfWork
from unpuzzle.course.v1 import course_events_pb2 as course_events

TEACHING_CONSUMER = "user-teaching"
_PAYLOADS: dict[str, type[Message]] = {
    "course.created": course_events.CourseCreated,
    "course.published": course_events.CoursePublished,
    "course.unpublished": course_events.CourseUnpublished,
    "course.archived": course_events.CourseArchived,
    "course.deleted": course_events.CourseDeleted,
    "enrollment.created": course_events.EnrollmentCreated,
    "enrollment.cancelled": course_events.EnrollmentCancelled,
    "review.submitted": course_events.ReviewSubmitted,
    "review.updated": course_events.ReviewUpdated,
    "review.deleted": course_events.ReviewDeleted,
}


def _facts(event_type: str, payload: Any) -> dict[str, Any]:
    """What the event states beyond its course id."""
    match event_type:
        case "course.created":
            return {"instructor_id": UUID(payload.instructor_id)}
        case "course.published":
            return {"published": True}
        case "course.unpublished" | "course.archived" | "course.deleted":
            return {"published": False}
        case "enrollment.created":
            return {"students_delta": 1}
        case "enrollment.cancelled":
            return {"students_delta": -1}
        case _:  # review.*
            return {"rating": (payload.course_rating_average, payload.course_rating_count)}


class TeachingEvents:
    """Applies course events to the teaching replica, one unit of work each."""

    def __init__(self, uow: Callable[[], UserUnitOfWork]) -> None:
        self._uow = uow

    def subscription(self) -> DurableSubscription:
        """The durable consumer on the course stream."""
        return DurableSubscription(
            name=TEACHING_CONSUMER,
            stream=stream_name("course"),
            subjects=tuple(event_subject("course", event_type) for event_type in _PAYLOADS),
            handler=self.apply,
        )

    async def apply(self, event: ConsumedEvent) -> None:
        """Map the event to a fact and apply it (other types are ignored)."""
        envelope = event.envelope
        message_type = _PAYLOADS.get(envelope.type)
        if message_type is None:
            return
        payload: Any = message_type()
        if not envelope.payload.Unpack(payload):
            raise ValueError(f"{event.subject} does not carry a {message_type.__name__}")
        fact = TeachingFact(
            consumer=TEACHING_CONSUMER,
            event_id=envelope.id,
            event_type=envelope.type,
            course_id=UUID(payload.course_id),
            **_facts(envelope.type, payload),
        )
        await apply_teaching_fact(fact, self._uow())
