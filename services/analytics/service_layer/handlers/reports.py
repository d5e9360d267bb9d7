"""Read models: a student's progress and dashboard, instructor analytics, platform metrics."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from kernel.clock import utc_now
from kernel.security import Caller
from services.analytics.domain.errors import EnrollmentNotFound, NotEnrolled
from services.analytics.domain.metrics import DayRange, current_streak, drop_off, week_start
from services.analytics.domain.model import ENROLLED
from services.analytics.domain.views import (
    AdminMetrics,
    CourseAnalytics,
    CourseExport,
    CourseProgressView,
    DailyCourseStats,
    DailyPlatformMetrics,
    Dashboard,
    LessonAnalytics,
    PlatformStats,
    QuizTotals,
    ResumePoint,
    StudentLesson,
    StudentProgress,
    percent,
)
from services.analytics.service_layer.access import owned_course, require_platform_access
from services.analytics.service_layer.caching import TtlValue
from services.analytics.service_layer.commands import (
    ExportCourseAnalytics,
    GetAdminMetrics,
    GetCourseAnalytics,
    GetMyCourseProgress,
    GetStudentProgress,
)
from services.analytics.service_layer.unit_of_work import AnalyticsUnitOfWork

RECENT_ACTIVITY = 10
COURSES_IN_PROGRESS = 20
ACTIVE_WINDOW_DAYS = 7
STREAK_LOOKBACK_DAYS = 366


async def get_my_course_progress(
    command: GetMyCourseProgress, uow: AnalyticsUnitOfWork, caller: Caller
) -> CourseProgressView:
    """The caller's own progress; only in a course they are enrolled in (else NOT_ENROLLED)."""
    user_id = caller.require_user()
    async with uow:
        if await uow.reports.enrollment(user_id, command.course_id) not in ENROLLED:
            raise NotEnrolled()
        progress = await uow.reports.course_progress(user_id, command.course_id)
        lessons = await uow.reports.lesson_progress(user_id, command.course_id)
        quiz = await uow.reports.quiz_of_student(user_id, command.course_id)
        if progress is not None:
            total = progress.total_lessons
        else:  # nothing watched yet: the course's own lesson count
            course = await uow.reports.course(command.course_id)
            total = course.lesson_count if course else 0
    last = max(lessons, key=lambda lesson: lesson.updated_at, default=None)
    return CourseProgressView(
        course_id=command.course_id,
        progress_percent=progress.percent if progress else 0.0,
        completed_lessons=progress.completed_lessons if progress else 0,
        total_lessons=total,
        last_lesson=ResumePoint(last.lesson_id, last.position_seconds) if last else None,
        time_spent_seconds=sum(lesson.watched_seconds for lesson in lessons),
        quiz=_sum_quiz(quiz.values()),
        completed_at=progress.completed_at if progress else None,
    )


async def get_dashboard(
    uow: AnalyticsUnitOfWork, caller: Caller, *, now: datetime | None = None
) -> Dashboard:
    """The caller's overview; days are UTC days and weeks start on Monday."""
    user_id = caller.require_user()
    today = (now or utc_now()).date()
    async with uow:
        watched = await uow.reports.watch_by_day(
            user_id, today - timedelta(days=STREAK_LOOKBACK_DAYS)
        )
        courses = await uow.reports.courses_in_progress(user_id, COURSES_IN_PROGRESS)
        recent = await uow.reports.recent_lessons(user_id, RECENT_ACTIVITY)
    monday = week_start(today)
    return Dashboard(
        time_spent_today_seconds=watched.get(today, 0),
        time_spent_this_week_seconds=sum(s for day, s in watched.items() if day >= monday),
        current_streak_days=current_streak(watched.keys(), today),
        courses_in_progress=courses,
        recent_activity=recent,
    )


async def get_course_analytics(
    command: GetCourseAnalytics,
    uow: AnalyticsUnitOfWork,
    caller: Caller,
    *,
    now: datetime | None = None,
) -> CourseAnalytics:
    """KPIs, a daily series and per-lesson figures of a course (its instructor or admins)."""
    today = (now or utc_now()).date()
    days = DayRange.resolve(command.from_date, command.to_date, today)
    async with uow:
        course = await owned_course(uow, command.course_id, caller)
        kpis = await uow.reports.course_kpis(course.course_id)
        active = await uow.reports.active_students(
            course.course_id, today - timedelta(days=ACTIVE_WINDOW_DAYS - 1)
        )
        series = await uow.reports.course_days(course.course_id, days)
        lessons = await uow.reports.lessons(course.course_id)
        watch = await uow.reports.lesson_watch(course.course_id)
        quiz = await uow.reports.quiz_of_course(course.course_id)
    per_lesson = []
    for lesson in lessons:
        seen = watch.get(lesson.lesson_id)
        views = seen.views if seen else 0
        per_lesson.append(
            LessonAnalytics(
                lesson_id=lesson.lesson_id,
                title=lesson.title,
                section_id=lesson.section_id,
                order=lesson.order,
                duration_seconds=lesson.duration_seconds,
                views=views,
                average_watch_seconds=round(seen.watched_seconds / views, 2) if seen else 0.0,
                completion_rate=percent(seen.completed if seen else 0, kpis.enrollments),
                drop_off=drop_off(seen.buckets if seen else {}),
                quiz=quiz.get(lesson.lesson_id, QuizTotals()),
            )
        )
    return CourseAnalytics(
        course_id=course.course_id,
        enrollments=kpis.enrollments,
        active_students_7d=active,
        completion_rate=percent(kpis.completed, kpis.enrollments),
        average_progress=round(kpis.average_progress, 2),
        rating_average=course.rating_average,
        rating_count=course.rating_count,
        first_day=days.first,
        last_day=days.last,
        daily=[series.get(day, DailyCourseStats(day)) for day in days.days()],
        lessons=per_lesson,
    )


async def get_student_progress(
    command: GetStudentProgress, uow: AnalyticsUnitOfWork, caller: Caller
) -> StudentProgress:
    """One student's progress lesson by lesson (the course's instructor or admins)."""
    async with uow:
        course = await owned_course(uow, command.course_id, caller)
        status = await uow.reports.enrollment(command.student_id, course.course_id)
        if status is None:
            raise EnrollmentNotFound(course.course_id, command.student_id)
        progress = await uow.reports.course_progress(command.student_id, course.course_id)
        watched = await uow.reports.lesson_progress(command.student_id, course.course_id)
        quiz = await uow.reports.quiz_of_student(command.student_id, course.course_id)
        lessons = await uow.reports.lessons(course.course_id)
    by_lesson = {lesson.lesson_id: lesson for lesson in watched}
    rows = [
        StudentLesson(
            lesson, by_lesson.get(lesson.lesson_id), quiz.get(lesson.lesson_id, QuizTotals())
        )
        for lesson in lessons
    ]
    return StudentProgress(
        course_id=course.course_id,
        student_id=command.student_id,
        enrollment_status=status,
        progress_percent=progress.percent if progress else 0.0,
        completed_lessons=progress.completed_lessons if progress else 0,
        total_lessons=progress.total_lessons if progress else course.lesson_count,
        time_spent_seconds=sum(lesson.watched_seconds for lesson in watched),
        quiz=_sum_quiz(quiz.values()),
        completed_at=progress.completed_at if progress else None,
        lessons=rows,
    )


async def export_course_analytics(
    command: ExportCourseAnalytics,
    uow: AnalyticsUnitOfWork,
    caller: Caller,
    *,
    now: datetime | None = None,
) -> CourseExport:
    """Per-student progress of a course for download (its instructor or admins)."""
    async with uow:
        course = await owned_course(uow, command.course_id, caller)
        rows = await uow.reports.export_rows(course.course_id)
    return CourseExport(course.course_id, (now or utc_now()).date(), rows)


async def get_platform_stats(
    uow: AnalyticsUnitOfWork, cache: TtlValue[PlatformStats]
) -> PlatformStats:
    """Platform totals for anyone, computed at most once per cache period per process."""

    async def load() -> PlatformStats:
        async with uow:
            return await uow.reports.platform_stats()

    return await cache.get(load)


async def get_admin_metrics(
    command: GetAdminMetrics,
    uow: AnalyticsUnitOfWork,
    caller: Caller,
    *,
    now: datetime | None = None,
) -> AdminMetrics:
    """Platform activity per day (admins)."""
    require_platform_access(caller)
    days = DayRange.resolve(command.from_date, command.to_date, (now or utc_now()).date())
    async with uow:
        found = await uow.reports.platform_days(days)
    return AdminMetrics(
        days.first, days.last, [found.get(day, DailyPlatformMetrics(day)) for day in days.days()]
    )


def _sum_quiz(totals: Iterable[QuizTotals]) -> QuizTotals:
    items = list(totals)
    return QuizTotals(sum(t.attempts for t in items), sum(t.correct for t in items))
