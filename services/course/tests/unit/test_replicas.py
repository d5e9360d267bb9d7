"""Events from other services: the instructor replica and progress from analytics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from services.course.domain.model import EnrollmentStatus
from services.course.service_layer.commands import ApplyInstructorProfile, ApplyProgress
from services.course.service_layer.handlers import replicas
from services.course.tests.fakes import FakeCourseUnitOfWork
from services.course.tests.unit.builders import enrolled, instructor, published

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


async def test_profiles_apply_in_version_order_only():
    uow, user_id = FakeCourseUnitOfWork(), uuid4()
    assert await replicas.apply_instructor_profile(
        ApplyInstructorProfile(user_id, "Ada", "https://a/1.png", 2), uow
    )
    assert not await replicas.apply_instructor_profile(
        ApplyInstructorProfile(user_id, "Old Ada", "", 1), uow
    )
    assert not await replicas.apply_instructor_profile(
        ApplyInstructorProfile(user_id, "Ada again", "", 2), uow
    )
    assert (await uow.instructors.get(user_id)).display_name == "Ada"


def _progress(course_id, user_id, percent, version, *, completed=False, at=NOW):
    return ApplyProgress(
        user_id=user_id,
        course_id=course_id,
        progress_percent=percent,
        completed=completed,
        source_version=version,
        occurred_at=at,
    )


async def test_progress_is_recorded_and_completion_counts_once():
    uow = FakeCourseUnitOfWork()
    course_id, _, _ = await published(uow, instructor())
    learner = (await enrolled(uow, course_id)).user_id
    assert await replicas.apply_progress(_progress(course_id, learner, 40.0, 1), uow)
    assert not await replicas.apply_progress(_progress(course_id, learner, 10.0, 1), uow)
    later = NOW + timedelta(minutes=5)
    assert await replicas.apply_progress(
        _progress(course_id, learner, 100.0, 3, completed=True, at=later), uow
    )
    assert not await replicas.apply_progress(
        _progress(course_id, learner, 100.0, 3, completed=True, at=later), uow
    )
    assert not await replicas.apply_progress(_progress(course_id, learner, 60.0, 2), uow)
    [enrollment] = uow.store.enrollments.values()
    assert enrollment.status is EnrollmentStatus.COMPLETED
    assert (enrollment.progress_percent, enrollment.last_accessed_at) == (100.0, later)
    assert uow.store.courses[course_id].completion_count == 1


async def test_progress_of_a_stranger_is_ignored():
    uow = FakeCourseUnitOfWork()
    course_id, _, _ = await published(uow, instructor())
    assert not await replicas.apply_progress(_progress(course_id, uuid4(), 50.0, 1), uow)
