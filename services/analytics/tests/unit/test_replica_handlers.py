"""Consumed events against in-memory adapters: idempotent, order-tolerant, recounting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from kernel.security import Caller
from services.analytics.domain.model import EnrollmentStatus, Heartbeat
from services.analytics.domain.replicas import CourseFacts, LessonFacts, OutlineTotals
from services.analytics.service_layer.commands import (
    ApplyCourse,
    ApplyEnrollment,
    ApplyLesson,
    ApplyQuizAttempt,
    ApplyRoleChange,
    ApplyUserRegistered,
    EventMeta,
    RecordHeartbeats,
)
from services.analytics.service_layer.handlers import progress, replicas
from services.analytics.tests.fakes import FakeUnitOfWork, Store

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _meta(version: int = 1, at: datetime = NOW, consumer: str = "analytics-course-events"):
    return EventMeta(consumer, str(uuid4()), "test.event", at, version)


async def _apply(store: Store, command) -> bool:
    return await replicas.apply_event(command, FakeUnitOfWork(store))


async def test_the_same_event_twice_changes_nothing():
    store = Store()
    user, lesson, course = uuid4(), uuid4(), uuid4()
    attempt = ApplyQuizAttempt(_meta(), user, lesson, course, correct=True)
    assert await _apply(store, attempt)
    assert not await _apply(store, attempt)
    assert store.quiz[(user, lesson)] == (course, 1, 1)
    # Another consumer handling the same event id is a different claim.
    assert await _apply(
        store, ApplyQuizAttempt(_meta(consumer="other"), user, lesson, course, False)
    )


async def test_an_older_enrolment_event_does_not_undo_a_newer_one():
    store = Store()
    user, course = uuid4(), uuid4()
    await _apply(store, ApplyEnrollment(_meta(2), user, course, EnrollmentStatus.CANCELLED))
    await _apply(store, ApplyEnrollment(_meta(1), user, course, EnrollmentStatus.ACTIVE))
    assert store.enrollments[(user, course)][0] == EnrollmentStatus.CANCELLED


async def test_a_new_lesson_recounts_the_progress_of_every_student():
    store = Store()
    course, instructor, student_id = uuid4(), uuid4(), uuid4()
    student = Caller(user_id=student_id)
    lessons = [uuid4(), uuid4()]
    await _apply(
        store,
        ApplyCourse(
            _meta(1),
            CourseFacts(course, instructor, "Course", "published"),
            OutlineTotals(2, 200),
            tuple(LessonFacts(lesson, course, None, 1, 100, False) for lesson in lessons),
        ),
    )
    await _apply(store, ApplyEnrollment(_meta(1), student_id, course, EnrollmentStatus.ACTIVE))
    await progress.record_heartbeat(
        RecordHeartbeats((Heartbeat(lessons[0], 100, 100, NOW),)),
        FakeUnitOfWork(store),
        student,
        now=NOW,
    )
    added = LessonFacts(uuid4(), course, None, 3, 100, False, "New")
    later = NOW + timedelta(minutes=1)
    await _apply(store, ApplyLesson(_meta(1, later), added, OutlineTotals(3, 300)))
    stored = store.course_progress[(student_id, course)]
    assert (stored.completed_lessons, stored.total_lessons, stored.percent) == (1, 3, 33.33)
    last = store.published[-1]
    assert type(last.event).__name__ == "CourseProgressUpdated"
    assert last.aggregate_version == 3  # after lesson.completed (1) and the first update (2)
    deleted = LessonFacts(lessons[0], course, None, 1, 100, False, deleted=True)
    await _apply(store, ApplyLesson(_meta(2, later), deleted, OutlineTotals(2, 200)))
    stored = store.course_progress[(student_id, course)]
    assert (stored.completed_lessons, stored.total_lessons) == (0, 2)


async def test_roles_follow_the_newest_user_event():
    store = Store()
    user = uuid4()
    await _apply(store, ApplyUserRegistered(_meta(1), user, frozenset({"student"})))
    await _apply(store, ApplyRoleChange(_meta(3), user, "instructor", granted=False))
    await _apply(store, ApplyRoleChange(_meta(2), user, "instructor", granted=True))
    stats = await FakeUnitOfWork(store).reports.platform_stats()
    assert (stats.total_students, stats.total_instructors) == (1, 0)
    assert store.users[user].registered_on == NOW.date()
