"""Read models of the analytics service on SQLAlchemy Core: fixed, indexed queries."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.analytics.adapters.repository import (
    course_progress_from_row,
    lesson_progress_from_row,
)
from services.analytics.adapters.tables import (
    course_progress,
    courses,
    daily_activity,
    enrollments,
    lesson_progress,
    lessons,
    quiz_stats,
    users,
)
from services.analytics.domain.metrics import DROP_OFF_BUCKETS, DayRange
from services.analytics.domain.model import (
    ENROLLED,
    CourseProgress,
    EnrollmentStatus,
    LessonProgress,
)
from services.analytics.domain.replicas import Course, Lesson
from services.analytics.domain.views import (
    CourseInProgress,
    DailyCourseStats,
    DailyPlatformMetrics,
    ExportRow,
    PlatformStats,
    QuizTotals,
    RecentLesson,
)
from services.analytics.service_layer.unit_of_work import CourseKpis, LessonWatch, ReportQueries

_ENROLLED = [status.value for status in ENROLLED]
_LAST_BUCKET = sa.literal_column(str(DROP_OFF_BUCKETS - 1), sa.Integer)


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


class SqlReportQueries(ReportQueries):
    """Read models on the unit of work's connection."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def _rows(self, query: Any) -> list[Any]:
        return list(await self._connection.execute(query))

    async def course(self, course_id: UUID) -> Course | None:
        row = (
            await self._connection.execute(
                sa.select(courses).where(courses.c.course_id == course_id)
            )
        ).one_or_none()
        if row is None:
            return None
        return Course(
            course_id=row.course_id,
            instructor_id=row.instructor_id,
            title=row.title,
            status=row.status,
            deleted=row.deleted,
            lesson_count=row.lesson_count,
            rating_average=row.rating_average,
            rating_count=row.rating_count,
        )

    async def enrollment(self, user_id: UUID, course_id: UUID) -> EnrollmentStatus | None:
        status = await self._connection.scalar(
            sa.select(enrollments.c.status).where(
                enrollments.c.user_id == user_id, enrollments.c.course_id == course_id
            )
        )
        return EnrollmentStatus(status) if status is not None else None

    async def course_progress(self, user_id: UUID, course_id: UUID) -> CourseProgress | None:
        row = (
            await self._connection.execute(
                sa.select(course_progress).where(
                    course_progress.c.user_id == user_id, course_progress.c.course_id == course_id
                )
            )
        ).one_or_none()
        return course_progress_from_row(row) if row is not None else None

    async def lesson_progress(self, user_id: UUID, course_id: UUID) -> list[LessonProgress]:
        rows = await self._rows(
            sa.select(lesson_progress).where(
                lesson_progress.c.course_id == course_id, lesson_progress.c.user_id == user_id
            )
        )
        return [lesson_progress_from_row(row) for row in rows]

    async def quiz_of_student(self, user_id: UUID, course_id: UUID) -> dict[UUID, QuizTotals]:
        table = quiz_stats.c
        rows = await self._rows(
            sa.select(table.lesson_id, table.attempts, table.correct).where(
                table.course_id == course_id, table.user_id == user_id
            )
        )
        return {row.lesson_id: QuizTotals(row.attempts, row.correct) for row in rows}

    async def watch_by_day(self, user_id: UUID, since: date) -> dict[date, int]:
        table = daily_activity.c
        rows = await self._rows(
            sa.select(table.day, sa.func.sum(table.watch_seconds))
            .where(table.user_id == user_id, table.day >= since)
            .group_by(table.day)
        )
        return {row[0]: int(row[1]) for row in rows}

    async def courses_in_progress(self, user_id: UUID, limit: int) -> list[CourseInProgress]:
        last = (
            sa.select(
                lesson_progress.c.course_id, sa.func.max(lesson_progress.c.updated_at).label("at")
            )
            .where(lesson_progress.c.user_id == user_id)
            .group_by(lesson_progress.c.course_id)
            .subquery("last")
        )
        query = (
            sa.select(
                enrollments.c.course_id,
                courses.c.title,
                courses.c.lesson_count,
                course_progress.c.progress_percent,
                course_progress.c.completed_lessons,
                course_progress.c.total_lessons,
                last.c.at,
            )
            .select_from(
                enrollments.outerjoin(courses, courses.c.course_id == enrollments.c.course_id)
                .outerjoin(
                    course_progress,
                    sa.and_(
                        course_progress.c.user_id == enrollments.c.user_id,
                        course_progress.c.course_id == enrollments.c.course_id,
                    ),
                )
                .outerjoin(last, last.c.course_id == enrollments.c.course_id)
            )
            .where(
                enrollments.c.user_id == user_id,
                enrollments.c.status == EnrollmentStatus.ACTIVE.value,
                course_progress.c.completed_at.is_(None),
            )
            .order_by(last.c.at.desc().nulls_last(), enrollments.c.updated_at.desc())
            .limit(limit)
        )
        return [
            CourseInProgress(
                course_id=row.course_id,
                title=row.title or "",
                progress_percent=row.progress_percent or 0.0,
                completed_lessons=row.completed_lessons or 0,
                total_lessons=row.total_lessons or row.lesson_count or 0,
                last_activity_at=row.at,
            )
            for row in await self._rows(query)
        ]

    async def recent_lessons(self, user_id: UUID, limit: int) -> list[RecentLesson]:
        query = (
            sa.select(
                lesson_progress,
                lessons.c.title.label("lesson_title"),
                courses.c.title.label("course_title"),
            )
            .select_from(
                lesson_progress.outerjoin(
                    lessons, lessons.c.lesson_id == lesson_progress.c.lesson_id
                ).outerjoin(courses, courses.c.course_id == lesson_progress.c.course_id)
            )
            .where(lesson_progress.c.user_id == user_id)
            .order_by(lesson_progress.c.updated_at.desc())
            .limit(limit)
        )
        return [
            RecentLesson(
                lesson_progress_from_row(row), row.lesson_title or "", row.course_title or ""
            )
            for row in await self._rows(query)
        ]

    async def course_kpis(self, course_id: UUID) -> CourseKpis:
        row = (
            await self._connection.execute(
                sa.select(
                    sa.func.count(),
                    _count_if(course_progress.c.completed_at.is_not(None)),
                    sa.func.avg(sa.func.coalesce(course_progress.c.progress_percent, 0.0)),
                )
                .select_from(
                    enrollments.outerjoin(
                        course_progress,
                        sa.and_(
                            course_progress.c.user_id == enrollments.c.user_id,
                            course_progress.c.course_id == enrollments.c.course_id,
                        ),
                    )
                )
                .where(enrollments.c.course_id == course_id, enrollments.c.status.in_(_ENROLLED))
            )
        ).one()
        return CourseKpis(int(row[0]), int(row[1]), float(row[2] or 0.0))

    async def active_students(self, course_id: UUID, since: date) -> int:
        table = daily_activity.c
        count = await self._connection.scalar(
            sa.select(sa.func.count(sa.distinct(table.user_id))).where(
                table.course_id == course_id, table.day >= since
            )
        )
        return int(count or 0)

    async def course_days(self, course_id: UUID, days: DayRange) -> dict[date, DailyCourseStats]:
        activity = daily_activity.c
        active = await self._rows(
            sa.select(activity.day, sa.func.count(), sa.func.sum(activity.watch_seconds))
            .where(activity.course_id == course_id, activity.day.between(days.first, days.last))
            .group_by(activity.day)
        )
        enrolled = await self._rows(
            sa.select(enrollments.c.enrolled_on, sa.func.count())
            .where(
                enrollments.c.course_id == course_id,
                enrollments.c.enrolled_on.between(days.first, days.last),
            )
            .group_by(enrollments.c.enrolled_on)
        )
        by_day = {row[0]: int(row[1]) for row in enrolled}
        stats = {
            row[0]: DailyCourseStats(row[0], by_day.pop(row[0], 0), int(row[1]), int(row[2]))
            for row in active
        }
        stats.update({day: DailyCourseStats(day, count) for day, count in by_day.items()})
        return stats

    async def lessons(self, course_id: UUID) -> list[Lesson]:
        table = lessons.c
        rows = await self._rows(
            sa.select(lessons)
            .where(table.course_id == course_id, table.deleted.is_(False))
            .order_by(table.position.asc().nulls_last(), table.order, table.lesson_id)
        )
        return [
            Lesson(
                lesson_id=row.lesson_id,
                course_id=row.course_id,
                section_id=row.section_id,
                title=row.title,
                order=row.order,
                duration_seconds=row.duration_seconds,
            )
            for row in rows
        ]

    async def lesson_watch(self, course_id: UUID) -> dict[UUID, LessonWatch]:
        progress, lesson = lesson_progress.c, lessons.c
        # Tenth of the video reached at most; the end (and unknown durations) in the last tenth.
        bucket = sa.case(
            (
                sa.or_(
                    lesson.duration_seconds <= 0,
                    progress.max_position_seconds >= lesson.duration_seconds,
                ),
                _LAST_BUCKET,
            ),
            else_=(progress.max_position_seconds * DROP_OFF_BUCKETS) // lesson.duration_seconds,
        ).label("bucket")
        rows = await self._rows(
            sa.select(
                progress.lesson_id,
                bucket,
                sa.func.count(),
                sa.func.sum(progress.watched_seconds),
                _count_if(progress.completed_at.is_not(None)),
            )
            .join(lessons, lesson.lesson_id == progress.lesson_id)
            .where(progress.course_id == course_id)
            .group_by(progress.lesson_id, sa.literal_column("bucket"))
        )
        watch: dict[UUID, LessonWatch] = {}
        for lesson_id, tenth, viewers, watched, completed in rows:
            known = watch.get(lesson_id) or LessonWatch(0, 0, 0, {})
            known.buckets[int(tenth)] = int(viewers)
            watch[lesson_id] = LessonWatch(
                known.views + int(viewers),
                known.watched_seconds + int(watched),
                known.completed + int(completed),
                known.buckets,
            )
        return watch

    async def quiz_of_course(self, course_id: UUID) -> dict[UUID, QuizTotals]:
        table = quiz_stats.c
        rows = await self._rows(
            sa.select(table.lesson_id, sa.func.sum(table.attempts), sa.func.sum(table.correct))
            .where(table.course_id == course_id)
            .group_by(table.lesson_id)
        )
        return {row[0]: QuizTotals(int(row[1]), int(row[2])) for row in rows}

    async def export_rows(self, course_id: UUID) -> list[ExportRow]:
        watched = (
            sa.select(
                lesson_progress.c.user_id,
                sa.func.sum(lesson_progress.c.watched_seconds).label("seconds"),
                sa.func.max(lesson_progress.c.updated_at).label("at"),
            )
            .where(lesson_progress.c.course_id == course_id)
            .group_by(lesson_progress.c.user_id)
            .subquery("watched")
        )
        quiz = (
            sa.select(
                quiz_stats.c.user_id,
                sa.func.sum(quiz_stats.c.attempts).label("attempts"),
                sa.func.sum(quiz_stats.c.correct).label("correct"),
            )
            .where(quiz_stats.c.course_id == course_id)
            .group_by(quiz_stats.c.user_id)
            .subquery("quiz")
        )
        query = (
            sa.select(
                enrollments.c.user_id,
                enrollments.c.status,
                enrollments.c.enrolled_on,
                course_progress.c.progress_percent,
                course_progress.c.completed_lessons,
                course_progress.c.total_lessons,
                course_progress.c.completed_at,
                courses.c.lesson_count,
                watched.c.seconds,
                watched.c.at,
                quiz.c.attempts,
                quiz.c.correct,
            )
            .select_from(
                enrollments.outerjoin(courses, courses.c.course_id == enrollments.c.course_id)
                .outerjoin(
                    course_progress,
                    sa.and_(
                        course_progress.c.user_id == enrollments.c.user_id,
                        course_progress.c.course_id == enrollments.c.course_id,
                    ),
                )
                .outerjoin(watched, watched.c.user_id == enrollments.c.user_id)
                .outerjoin(quiz, quiz.c.user_id == enrollments.c.user_id)
            )
            .where(enrollments.c.course_id == course_id)
            .order_by(enrollments.c.enrolled_on.asc().nulls_last(), enrollments.c.user_id)
        )
        return [
            ExportRow(
                student_id=row.user_id,
                enrollment_status=EnrollmentStatus(row.status),
                enrolled_on=row.enrolled_on,
                progress_percent=row.progress_percent or 0.0,
                completed_lessons=row.completed_lessons or 0,
                total_lessons=row.total_lessons or row.lesson_count or 0,
                time_spent_seconds=int(row.seconds or 0),
                quiz=QuizTotals(int(row.attempts or 0), int(row.correct or 0)),
                last_activity_at=row.at,
                completed_at=row.completed_at,
            )
            for row in await self._rows(query)
        ]

    async def platform_stats(self) -> PlatformStats:
        published = sa.and_(courses.c.status == "published", courses.c.deleted.is_(False))
        live_users = users.c.deleted.is_(False)
        row = (
            await self._connection.execute(
                sa.select(
                    sa.select(sa.func.count()).where(published).scalar_subquery(),
                    sa.select(sa.func.count())
                    .where(live_users, users.c.is_student.is_(True))
                    .scalar_subquery(),
                    sa.select(sa.func.count())
                    .where(live_users, users.c.is_instructor.is_(True))
                    .scalar_subquery(),
                    sa.select(sa.func.count())
                    .where(enrollments.c.status.in_(_ENROLLED))
                    .scalar_subquery(),
                    sa.select(
                        sa.func.sum(courses.c.rating_average * courses.c.rating_count)
                        / sa.func.nullif(sa.func.sum(courses.c.rating_count), 0)
                    )
                    .where(published)
                    .scalar_subquery(),
                )
            )
        ).one()
        return PlatformStats(
            total_courses=int(row[0]),
            total_students=int(row[1]),
            total_instructors=int(row[2]),
            total_enrollments=int(row[3]),
            average_rating=round(float(row[4] or 0.0), 2),
        )

    async def platform_days(self, days: DayRange) -> dict[date, DailyPlatformMetrics]:
        activity = daily_activity.c
        signups = await self._rows(
            sa.select(users.c.registered_on, sa.func.count())
            .where(users.c.registered_on.between(days.first, days.last))
            .group_by(users.c.registered_on)
        )
        enrolled = await self._rows(
            sa.select(enrollments.c.enrolled_on, sa.func.count())
            .where(enrollments.c.enrolled_on.between(days.first, days.last))
            .group_by(enrollments.c.enrolled_on)
        )
        learning = await self._rows(
            sa.select(
                activity.day,
                sa.func.count(sa.distinct(activity.user_id)),
                sa.func.sum(activity.lessons_completed),
            )
            .where(activity.day.between(days.first, days.last))
            .group_by(activity.day)
        )
        figures: dict[date, dict[str, int]] = {}
        for day, count in signups:
            figures.setdefault(day, {})["signups"] = int(count)
        for day, count in enrolled:
            figures.setdefault(day, {})["enrollments"] = int(count)
        for day, learners, completed in learning:
            entry = figures.setdefault(day, {})
            entry["active_learners"], entry["lessons_completed"] = int(learners), int(completed)
        return {day: DailyPlatformMetrics(day, **values) for day, values in figures.items()}
