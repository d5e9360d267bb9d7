"""Who may read which analytics, and how the read models are put together."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from kernel.errors import PermissionDenied, Unauthenticated, ValidationFailed
from kernel.security import ANONYMOUS, Caller
from services.analytics.domain.errors import CourseNotFound, EnrollmentNotFound, NotEnrolled
from services.analytics.domain.model import DailyActivity, EnrollmentStatus, Heartbeat
from services.analytics.domain.replicas import CourseFacts, LessonFacts
from services.analytics.domain.views import PlatformStats
from services.analytics.service_layer.caching import TtlValue
from services.analytics.service_layer.commands import (
    ExportCourseAnalytics,
    GetAdminMetrics,
    GetCourseAnalytics,
    GetMyCourseProgress,
    GetStudentProgress,
    RecordHeartbeats,
)
from services.analytics.service_layer.handlers import progress, reports
from services.analytics.tests.fakes import FakeUnitOfWork, Store

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
OWNER_ID, ALICE_ID, BOB_ID = uuid4(), uuid4(), uuid4()
OWNER = Caller(user_id=OWNER_ID, roles=frozenset({"instructor"}))
OTHER_INSTRUCTOR = Caller(user_id=uuid4(), roles=frozenset({"instructor"}))
ADMIN = Caller(user_id=uuid4(), roles=frozenset({"admin"}))
ALICE = Caller(user_id=ALICE_ID, roles=frozenset({"student"}))
BOB = Caller(user_id=BOB_ID, roles=frozenset({"student"}))


async def _course(store: Store) -> tuple[UUID, list[UUID]]:
    uow = FakeUnitOfWork(store)
    course_id, lessons = uuid4(), [uuid4(), uuid4()]
    await uow.replicas.apply_course(CourseFacts(course_id, OWNER_ID, "C", "published"), 1)
    await uow.replicas.apply_outline(course_id, 2, 200, NOW)
    await uow.replicas.apply_lessons(
        [LessonFacts(lesson, course_id, None, 1, 100, False, "L") for lesson in lessons], NOW
    )
    for student_id in (ALICE_ID, BOB_ID):
        await uow.replicas.apply_enrollment(student_id, course_id, EnrollmentStatus.ACTIVE, 1, NOW)
    return course_id, lessons


async def _watch(store: Store, student: Caller, lesson: UUID, seconds: int) -> None:
    command = RecordHeartbeats((Heartbeat(lesson, seconds, seconds, NOW),))
    await progress.record_heartbeat(command, FakeUnitOfWork(store), student, now=NOW)


async def test_only_the_owner_and_admins_see_course_analytics():
    store = Store()
    course_id, [first, _] = await _course(store)
    await _watch(store, ALICE, first, 100)
    await _watch(store, BOB, first, 35)
    command = GetCourseAnalytics(course_id)
    view = await reports.get_course_analytics(command, FakeUnitOfWork(store), OWNER, now=NOW)
    assert (view.enrollments, view.completion_rate, view.average_progress) == (2, 0.0, 25.0)
    assert view.active_students_7d == 2
    assert len(view.daily) == 30
    assert view.daily[-1].watch_seconds == 135
    lesson = view.lessons[0]
    assert (lesson.views, lesson.average_watch_seconds, lesson.completion_rate) == (2, 67.5, 50.0)
    assert lesson.drop_off[3] == 50.0
    assert lesson.drop_off[9] == 50.0
    assert await reports.get_course_analytics(command, FakeUnitOfWork(store), ADMIN, now=NOW)
    for caller, error in (
        (OTHER_INSTRUCTOR, PermissionDenied),
        (ALICE, PermissionDenied),
        (ANONYMOUS, Unauthenticated),
    ):
        with pytest.raises(error):
            await reports.get_course_analytics(command, FakeUnitOfWork(store), caller)
        with pytest.raises(error):
            await reports.export_course_analytics(
                ExportCourseAnalytics(course_id), FakeUnitOfWork(store), caller
            )
    with pytest.raises(CourseNotFound):
        await reports.get_course_analytics(
            GetCourseAnalytics(uuid4()), FakeUnitOfWork(store), ADMIN
        )
    with pytest.raises(ValidationFailed):
        await reports.get_course_analytics(
            GetCourseAnalytics(course_id, "2026-12-01", "2026-11-01"), FakeUnitOfWork(store), OWNER
        )


async def test_a_student_sees_only_their_own_progress():
    store = Store()
    course_id, [first, _] = await _course(store)
    await _watch(store, BOB, first, 100)
    mine = await reports.get_my_course_progress(
        GetMyCourseProgress(course_id), FakeUnitOfWork(store), ALICE
    )
    assert (mine.completed_lessons, mine.time_spent_seconds, mine.last_lesson) == (0, 0, None)
    bobs = await reports.get_my_course_progress(
        GetMyCourseProgress(course_id), FakeUnitOfWork(store), BOB
    )
    assert (bobs.progress_percent, bobs.time_spent_seconds) == (50.0, 100)
    with pytest.raises(NotEnrolled):
        await reports.get_my_course_progress(
            GetMyCourseProgress(course_id), FakeUnitOfWork(store), OTHER_INSTRUCTOR
        )
    with pytest.raises(PermissionDenied):
        await reports.get_student_progress(
            GetStudentProgress(course_id, BOB_ID), FakeUnitOfWork(store), ALICE
        )


async def test_instructor_sees_every_lesson_of_a_student_and_only_enrolled_ones():
    store = Store()
    course_id, [first, second] = await _course(store)
    await _watch(store, BOB, first, 40)
    view = await reports.get_student_progress(
        GetStudentProgress(course_id, BOB_ID), FakeUnitOfWork(store), OWNER
    )
    assert [row.lesson.lesson_id for row in view.lessons] == [first, second]
    assert view.lessons[0].progress is not None
    assert view.lessons[1].progress is None
    with pytest.raises(EnrollmentNotFound):
        await reports.get_student_progress(
            GetStudentProgress(course_id, uuid4()), FakeUnitOfWork(store), OWNER
        )


async def test_dashboard_adds_up_today_the_week_and_the_streak():
    store = Store()
    course_id, [first, _] = await _course(store)
    uow = FakeUnitOfWork(store)
    await uow.progress.add_activity(
        [
            DailyActivity(ALICE_ID, NOW.date() - timedelta(days=days), course_id, 60 * days)
            for days in (1, 2, 5)
        ]
    )
    await _watch(store, ALICE, first, 30)
    view = await reports.get_dashboard(FakeUnitOfWork(store), ALICE, now=NOW)
    assert view.time_spent_today_seconds == 30
    assert view.time_spent_this_week_seconds == 30 + 60 + 120  # the week began on Monday 16th
    assert view.current_streak_days == 3
    assert [c.course_id for c in view.courses_in_progress] == [course_id]
    assert [r.progress.lesson_id for r in view.recent_activity] == [first]


async def test_admin_metrics_are_for_admins_only():
    store = Store()
    command = GetAdminMetrics("2026-11-01", "2026-11-07")
    view = await reports.get_admin_metrics(command, FakeUnitOfWork(store), ADMIN, now=NOW)
    assert [day.day.day for day in view.days] == list(range(1, 8))
    analyst = Caller(user_id=uuid4(), permissions=frozenset({"analytics:view_platform"}))
    assert await reports.get_admin_metrics(command, FakeUnitOfWork(store), analyst, now=NOW)
    with pytest.raises(PermissionDenied):
        await reports.get_admin_metrics(command, FakeUnitOfWork(store), OWNER, now=NOW)


async def test_platform_stats_are_computed_once_per_period():
    loads = 0
    clock = [0.0]
    cache: TtlValue[PlatformStats] = TtlValue(5.0, clock=lambda: clock[0])

    class CountingUnitOfWork(FakeUnitOfWork):
        async def _begin(self) -> None:
            nonlocal loads
            loads += 1
            await asyncio.sleep(0.01)

    await asyncio.gather(
        *(reports.get_platform_stats(CountingUnitOfWork(), cache) for _ in range(5))
    )
    assert loads == 1
    clock[0] = 5.0
    await reports.get_platform_stats(CountingUnitOfWork(), cache)
    assert loads == 2
