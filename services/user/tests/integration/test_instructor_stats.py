"""Instructor stats on public profiles, from the course service's events (the teaching replica)."""

from __future__ import annotations

import uuid

import pytest
from google.protobuf.message import Message

from kernel.consumers import ConsumedEvent
from services.user.bootstrap import UserService
from services.user.entrypoints.event_handlers import TeachingEvents
from services.user.tests.api import IdentityApi, ok
from unpuzzle.common.v1 import events_pb2
from unpuzzle.course.v1 import course_events_pb2 as course_events

pytestmark = pytest.mark.integration


def _event(event_type: str, payload: Message, event_id: str | None = None) -> ConsumedEvent:
    envelope = events_pb2.EventEnvelope(
        id=event_id or str(uuid.uuid4()), type=event_type, producer="course"
    )
    envelope.payload.Pack(payload)
    return ConsumedEvent(envelope, f"unpuzzle.course.{event_type}.v1", 1)


def _course(course_id: str, instructor_id: str, *facts: str) -> list[ConsumedEvent]:
    created = _event(
        "course.created",
        course_events.CourseCreated(course_id=course_id, instructor_id=instructor_id),
    )
    messages: dict[str, Message] = {
        "course.published": course_events.CoursePublished(
            course_id=course_id, instructor_id=instructor_id
        ),
        "course.archived": course_events.CourseArchived(
            course_id=course_id, instructor_id=instructor_id
        ),
    }
    return [created, *(_event(fact, messages[fact]) for fact in facts)]


def _enrolment(course_id: str, event_type: str = "enrollment.created") -> ConsumedEvent:
    message: Message = (
        course_events.EnrollmentCreated(course_id=course_id, user_id=str(uuid.uuid4()))
        if event_type == "enrollment.created"
        else course_events.EnrollmentCancelled(course_id=course_id, user_id=str(uuid.uuid4()))
    )
    return _event(event_type, message)


def _review(course_id: str, average: float, count: int) -> ConsumedEvent:
    message = course_events.ReviewSubmitted(
        course_id=course_id, course_rating_average=average, course_rating_count=count
    )
    return _event("review.submitted", message)


async def test_public_profile_shows_the_stats_of_published_teaching(
    api, settings, user_service: UserService
):
    identity = IdentityApi(api)
    admin = await identity.admin(settings)
    teacher = (await identity.with_role(admin["accessToken"], "instructor"))["user"]["id"]
    student = (await identity.register())["user"]["id"]
    live, retired, draft = (str(uuid.uuid4()) for _ in range(3))
    enrolment = _enrolment(live)
    events = [
        *_course(live, teacher, "course.published"),
        enrolment,
        _enrolment(live),
        _enrolment(live),
        _enrolment(live, "enrollment.cancelled"),
        _review(live, 4.0, 1),
        _review(live, 4.5, 2),  # the course's aggregates after a second review
        *_course(retired, teacher, "course.published", "course.archived"),
        _enrolment(retired),
        _review(retired, 1.0, 5),
        *_course(draft, teacher),
        _enrolment(draft),
        enrolment,  # redelivered: the inbox knows it
    ]
    handlers = TeachingEvents(user_service.uow)
    for event in events:
        await handlers.apply(event)

    profile = ok(await api.get(f"/api/v1/users/{teacher}/profile"))
    assert profile["isInstructor"] is True
    assert profile["instructorStats"] == {
        "publishedCourses": 1,
        "totalStudents": 2,
        "ratingAverage": 4.5,
        "ratingCount": 2,
    }
    assert ok(await api.get(f"/api/v1/users/{student}/profile"))["instructorStats"] is None
