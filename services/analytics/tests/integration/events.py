"""Publishing course and user events to JetStream as their services do, for the tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from kernel.messaging import NatsClient, ensure_stream, stream_config, stream_name
from services.analytics.entrypoints.event_consumers import SOURCES
from unpuzzle.common.v1 import events_pb2
from unpuzzle.course.v1 import course_events_pb2, course_pb2
from unpuzzle.user.v1 import user_events_pb2


@dataclass
class Course:
    """A course published through events, with its lessons (id -> duration)."""

    course_id: uuid.UUID
    instructor_id: uuid.UUID
    lessons: dict[uuid.UUID, int]
    section_id: uuid.UUID = field(default_factory=uuid.uuid4)


class EventFeed:
    """Builds envelopes like the outbox writer and publishes them with Nats-Msg-Id."""

    def __init__(self, nats: NatsClient) -> None:
        self.nats = nats
        self._versions: dict[str, int] = {}

    async def ensure_streams(self) -> None:
        for service, _ in SOURCES.values():
            await ensure_stream(self.nats.js, stream_config(service))

    def envelope(
        self,
        event_type: str,
        payload: Message,
        *,
        aggregate: str,
        aggregate_id: object,
        version: int | None = None,
        occurred_at: datetime | None = None,
        producer: str = "course",
    ) -> events_pb2.EventEnvelope:
        key = f"{aggregate}:{aggregate_id}"
        if version is None:
            version = self._versions.get(key, 0) + 1
        self._versions[key] = max(version, self._versions.get(key, 0))
        stamp = Timestamp()
        stamp.FromDatetime(occurred_at or datetime.now(UTC))
        envelope = events_pb2.EventEnvelope(
            id=str(uuid.uuid4()),
            type=event_type,
            occurred_at=stamp,
            producer=producer,
            aggregate_type=aggregate,
            aggregate_id=str(aggregate_id),
            aggregate_version=version,
        )
        envelope.payload.Pack(payload)
        return envelope

    async def send(self, envelope: events_pb2.EventEnvelope) -> None:
        """Publish (again, if it was published before: JetStream keeps one per Nats-Msg-Id
        within its duplicate window, so re-sending a copy needs a new message id)."""
        await self.nats.js.publish(
            f"unpuzzle.{envelope.producer}.{envelope.type}.v1",
            envelope.SerializeToString(),
            headers={"Nats-Msg-Id": f"{envelope.id}:{time.monotonic_ns()}"},
        )

    async def publish(self, event_type: str, payload: Message, **envelope: object) -> None:
        await self.send(self.envelope(event_type, payload, **envelope))  # type: ignore[arg-type]

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until both analytics consumers have handled (and acked) everything."""
        deadline = time.monotonic() + timeout
        for name, (service, _) in SOURCES.items():
            while True:
                try:
                    info = await self.nats.js.consumer_info(stream_name(service), name)
                    if info.num_pending == 0 and info.num_ack_pending == 0:
                        break
                except Exception:  # not created yet
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"consumer {name} did not catch up in {timeout} s")
                await asyncio.sleep(0.02)

    # ------------------------------------------------------------------------- scenarios

    async def course(
        self,
        durations: list[int],
        *,
        instructor_id: uuid.UUID | None = None,
        title: str = "Rust for Pythonistas",
    ) -> Course:
        """course.created, lesson.created per lesson, course.published."""
        course = Course(uuid.uuid4(), instructor_id or uuid.uuid4(), {})
        await self.publish(
            "course.created",
            course_events_pb2.CourseCreated(
                course_id=str(course.course_id),
                instructor_id=str(course.instructor_id),
                title=title,
                status=course_pb2.COURSE_STATUS_DRAFT,
            ),
            aggregate="course",
            aggregate_id=course.course_id,
        )
        for order, duration in enumerate(durations, start=1):
            await self.add_lesson(course, duration, order=order)
        await self.publish(
            "course.published",
            course_events_pb2.CoursePublished(
                course_id=str(course.course_id),
                instructor_id=str(course.instructor_id),
                title=title,
                lesson_count=len(course.lessons),
                duration_seconds=sum(course.lessons.values()),
                lessons=[
                    self._facts(course, lesson_id, order)
                    for order, lesson_id in enumerate(course.lessons, start=1)
                ],
            ),
            aggregate="course",
            aggregate_id=course.course_id,
        )
        return course

    def _facts(
        self, course: Course, lesson_id: uuid.UUID, order: int
    ) -> course_events_pb2.LessonFacts:
        return course_events_pb2.LessonFacts(
            lesson_id=str(lesson_id),
            section_id=str(course.section_id),
            order=order,
            duration_seconds=course.lessons[lesson_id],
        )

    async def add_lesson(self, course: Course, duration: int, *, order: int = 0) -> uuid.UUID:
        lesson_id = uuid.uuid4()
        course.lessons[lesson_id] = duration
        await self.publish(
            "lesson.created",
            course_events_pb2.LessonCreated(
                lesson=self._facts(course, lesson_id, order or len(course.lessons)),
                course_id=str(course.course_id),
                title=f"Lesson {len(course.lessons)}",
                course_lesson_count=len(course.lessons),
                course_duration_seconds=sum(course.lessons.values()),
            ),
            aggregate="lesson",
            aggregate_id=lesson_id,
        )
        return lesson_id

    async def enrol(
        self,
        course: Course,
        user_id: uuid.UUID,
        status: course_pb2.EnrollmentStatus.ValueType = course_pb2.ENROLLMENT_STATUS_ACTIVE,
    ) -> None:
        await self.publish(
            "enrollment.created",
            course_events_pb2.EnrollmentCreated(
                enrollment_id=str(uuid.uuid5(course.course_id, str(user_id))),
                user_id=str(user_id),
                course_id=str(course.course_id),
                instructor_id=str(course.instructor_id),
                status=status,
                course_lesson_count=len(course.lessons),
            ),
            aggregate="enrollment",
            aggregate_id=uuid.uuid5(course.course_id, str(user_id)),
        )

    async def register(self, user_id: uuid.UUID, *roles: str) -> None:
        await self.publish(
            "user.registered",
            user_events_pb2.UserRegistered(
                user_id=str(user_id), email=f"{user_id}@example.test", roles=list(roles)
            ),
            aggregate="user",
            aggregate_id=user_id,
            producer="user",
        )
