"""Other services' events applied on the real databases, and the events this service stages."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa

from kernel.consumers import ConsumedEvent
from kernel.security import ANONYMOUS
from services.course.adapters.tables import courses, outbox
from services.course.domain.model import EnrollmentStatus
from services.course.service_layer.commands import ApplyProgress
from services.course.service_layer.handlers import replicas
from services.course.tests.integration.seeding import enrol_all, published_courses
from unpuzzle.common.v1 import events_pb2
from unpuzzle.course.v1 import course_service_pb2 as api
from unpuzzle.user.v1 import user_events_pb2

pytestmark = pytest.mark.integration


def _user_event(user_id, version: int, payload) -> ConsumedEvent:
    event_type = (
        "user.registered"
        if isinstance(payload, user_events_pb2.UserRegistered)
        else "user.profile_updated"
    )
    envelope = events_pb2.EventEnvelope(
        id=str(uuid4()),
        type=event_type,
        producer="user",
        aggregate_type="user",
        aggregate_id=str(user_id),
        aggregate_version=version,
    )
    envelope.payload.Pack(payload)
    return ConsumedEvent(envelope, f"unpuzzle.user.{event_type}.v1", 1)


def _profile_event(user_id, name: str, version: int) -> ConsumedEvent:
    profile = user_events_pb2.UserProfileUpdated(
        user_id=str(user_id), full_name=f"{name} Full", display_name=name
    )
    return _user_event(user_id, version, profile)


async def test_a_registration_names_the_instructor_before_any_profile_edit(bare_course_service):
    service = bare_course_service
    user_id = uuid4()
    registered = user_events_pb2.UserRegistered(
        user_id=str(user_id), email="lin@example.com", display_name="Lin Registered"
    )
    await service.events.user_profile(_user_event(user_id, 1, registered))
    async with service.uow(read_only=True) as uow:
        assert (await uow.instructors.get(user_id)).display_name == "Lin Registered"
    await service.events.user_profile(_profile_event(user_id, "Lin Edited", 2))
    await service.events.user_profile(_user_event(user_id, 1, registered))  # arrives late
    async with service.uow(read_only=True) as uow:
        assert (await uow.instructors.get(user_id)).display_name == "Lin Edited"


async def test_profile_events_update_the_replica_and_the_cached_pages(bare_course_service):
    service = bare_course_service
    [course] = await published_courses(service, 1)
    assert (await service.views.course(str(course.id), ANONYMOUS)).instructor.display_name == (
        "Grace"
    )
    await service.events.user_profile(_profile_event(course.instructor_id, "Ada", 5))
    await service.events.user_profile(_profile_event(course.instructor_id, "Stale", 4))
    page = await service.views.course(str(course.id), ANONYMOUS)
    assert page.instructor.display_name == "Ada"
    listing = await service.views.course_page(api.ListCoursesRequest())
    assert listing.courses[0].instructor.display_name == "Ada"


async def test_progress_and_completion_reach_the_enrolment_and_the_course(bare_course_service):
    service = bare_course_service
    [course] = await published_courses(service, 1)
    student = uuid4()
    await enrol_all(service, [course], [student])
    at = datetime(2026, 11, 27, 9, tzinfo=UTC)
    for percent, version, completed in ((50.0, 1, False), (100.0, 2, True), (100.0, 2, True)):
        await replicas.apply_progress(
            ApplyProgress(
                user_id=student,
                course_id=course.id,
                progress_percent=percent,
                completed=completed,
                source_version=version,
                occurred_at=at,
            ),
            service.uow(),
        )
    async with service.uow(read_only=True) as uow:
        enrollment = await uow.enrollments.find(student, course.id)
        stored = await uow.courses.get(course.id)
    assert enrollment is not None
    assert stored is not None
    assert (enrollment.status, enrollment.progress_percent) == (EnrollmentStatus.COMPLETED, 100.0)
    assert enrollment.last_accessed_at == at
    assert (stored.completion_count, stored.enrollment_count) == (1, 1)


async def test_writes_stage_their_events_in_the_outbox_with_the_counters(
    course_service, course_stub, tokens
):
    owner = tokens.metadata(tokens.instructor())
    course = (
        await course_stub.CreateCourse(
            api.CreateCourseRequest(title="Evented", description="d"), metadata=owner
        )
    ).course
    section = (
        await course_stub.CreateSection(
            api.CreateSectionRequest(course_id=course.id, title="S"), metadata=owner
        )
    ).section
    await course_stub.CreateLesson(
        api.CreateLessonRequest(section_id=section.id, title="L", duration_seconds=90),
        metadata=owner,
    )
    await course_stub.PublishCourse(api.PublishCourseRequest(course_id=course.id), metadata=owner)
    student = tokens.metadata(tokens.student())
    await course_stub.CreateEnrollment(
        api.CreateEnrollmentRequest(course_id=course.id), metadata=student
    )
    await course_stub.CreateReview(
        api.CreateReviewRequest(course_id=course.id, rating=5), metadata=student
    )
    async with course_service.infra.database.connect() as connection:
        staged = (
            await connection.execute(sa.select(outbox.c.event_type).order_by(outbox.c.seq))
        ).scalars()
        counters = (
            await connection.execute(
                sa.select(courses.c.enrollment_count, courses.c.rating_average).where(
                    courses.c.id == UUID(course.id)
                )
            )
        ).one()
    assert list(staged) == [
        "course.created",
        "lesson.created",
        "course.published",
        "enrollment.created",
        "review.submitted",
    ]
    assert tuple(counters) == (1, 5.0)
