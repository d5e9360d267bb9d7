"""Recording progress against in-memory adapters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from kernel.errors import Unauthenticated
from kernel.security import ANONYMOUS, Caller
from services.analytics.domain.errors import LessonNotFound, NotEnrolled
from services.analytics.domain.model import EnrollmentStatus, Heartbeat
from services.analytics.domain.replicas import CourseFacts, LessonFacts
from services.analytics.service_layer.commands import CompleteLesson, RecordHeartbeats
from services.analytics.service_layer.handlers import progress
from services.analytics.tests.fakes import FakeUnitOfWork, Store

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STUDENT_ID = uuid4()
STUDENT = Caller(user_id=STUDENT_ID, roles=frozenset({"student"}))


async def _course(store: Store, durations: list[int]) -> tuple[UUID, list[UUID]]:
    uow = FakeUnitOfWork(store)
    course_id, lessons = uuid4(), [uuid4() for _ in durations]
    await uow.replicas.apply_course(CourseFacts(course_id, uuid4(), "Course", "published"), 1)
    await uow.replicas.apply_outline(course_id, len(durations), sum(durations), NOW)
    await uow.replicas.apply_lessons(
        [
            LessonFacts(lesson, course_id, None, n, duration, False, f"L{n}")
            for n, (lesson, duration) in enumerate(zip(lessons, durations, strict=True))
        ],
        NOW,
    )
    return course_id, lessons


async def _enrol(store: Store, course_id: UUID, status=EnrollmentStatus.ACTIVE) -> None:
    await FakeUnitOfWork(store).replicas.apply_enrollment(STUDENT_ID, course_id, status, 1, NOW)


def _beat(lesson: UUID, watched: int, at: datetime = NOW) -> RecordHeartbeats:
    return RecordHeartbeats((Heartbeat(lesson, watched, watched, at),))


async def test_heartbeat_of_an_enrolled_student_records_progress_without_events():
    store = Store()
    course_id, [lesson] = await _course(store, [100])
    await _enrol(store, course_id)
    uow = FakeUnitOfWork(store)
    recorded = await progress.record_heartbeat(_beat(lesson, 40), uow, STUDENT, now=NOW)
    assert (recorded.watched_seconds, recorded.completed) == (40, False)
    assert uow.commits == 1
    assert store.published == []
    assert store.daily[(STUDENT_ID, NOW.date(), course_id)] == [40, 0]


async def test_completing_every_lesson_publishes_progress_and_course_completed():
    store = Store()
    course_id, [first, second] = await _course(store, [100, 50])
    await _enrol(store, course_id)
    await progress.record_heartbeat(_beat(first, 90), FakeUnitOfWork(store), STUDENT, now=NOW)
    await progress.complete_lesson(CompleteLesson(second), FakeUnitOfWork(store), STUDENT, now=NOW)
    await progress.complete_lesson(CompleteLesson(second), FakeUnitOfWork(store), STUDENT, now=NOW)
    kinds = [type(raised.event).__name__ for raised in store.published]
    assert kinds == [
        "LessonCompleted",
        "CourseProgressUpdated",
        "LessonCompleted",
        "CourseProgressUpdated",
        "CourseCompleted",
    ]
    stored = store.course_progress[(STUDENT_ID, course_id)]
    assert (stored.completed_lessons, stored.total_lessons, stored.percent) == (2, 2, 100.0)
    assert store.daily[(STUDENT_ID, NOW.date(), course_id)] == [90, 2]


async def test_future_heartbeats_count_as_now():
    store = Store()
    course_id, [lesson] = await _course(store, [100])
    await _enrol(store, course_id)
    recorded = await progress.record_heartbeat(
        _beat(lesson, 10, NOW + timedelta(days=2)), FakeUnitOfWork(store), STUDENT, now=NOW
    )
    assert recorded.last_sent_at == NOW


@pytest.mark.parametrize("status", [EnrollmentStatus.PENDING_PAYMENT, EnrollmentStatus.CANCELLED])
async def test_student_without_an_active_enrolment_cannot_record_progress(status):
    store = Store()
    course_id, [lesson] = await _course(store, [100])
    await _enrol(store, course_id, status)
    uow = FakeUnitOfWork(store)
    with pytest.raises(NotEnrolled):
        await progress.record_heartbeat(_beat(lesson, 10), uow, STUDENT, now=NOW)
    with pytest.raises(NotEnrolled):
        await progress.complete_lesson(CompleteLesson(lesson), uow, STUDENT, now=NOW)
    assert uow.commits == 0
    assert store.progress == {}


async def test_unknown_lesson_and_anonymous_caller_are_refused():
    store = Store()
    with pytest.raises(LessonNotFound):
        await progress.record_heartbeat(_beat(uuid4(), 10), FakeUnitOfWork(store), STUDENT)
    with pytest.raises(Unauthenticated):
        await progress.record_heartbeat(_beat(uuid4(), 10), FakeUnitOfWork(store), ANONYMOUS)


async def test_batch_records_what_it_may_and_reports_the_rest():
    store = Store()
    course_id, [mine] = await _course(store, [100])
    _other_course, [theirs] = await _course(store, [100])
    await _enrol(store, course_id)
    command = RecordHeartbeats(
        (
            Heartbeat(mine, 5, 5, NOW),
            Heartbeat(theirs, 5, 5, NOW),
            Heartbeat(mine, 9, 9, NOW - timedelta(seconds=1)),
        )
    )
    recorded = await progress.record_heartbeats(command, FakeUnitOfWork(store), STUDENT, now=NOW)
    assert [(p.lesson_id, p.position_seconds, p.watched_seconds) for p in recorded.progress] == [
        (mine, 5, 9)
    ]
    assert list(recorded.rejected) == [theirs]
    assert isinstance(recorded.rejected[theirs], NotEnrolled)
