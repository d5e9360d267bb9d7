"""Writes of the analytics service on SQLAlchemy Core: progress and replicas."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.clock import utc_now
from kernel.db import UtcDateTime
from kernel.errors import DomainError
from services.analytics.adapters.sql import greatest, upsert
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
from services.analytics.domain.errors import LessonNotFound, NotEnrolled
from services.analytics.domain.model import (
    COMPLETION_RATIO,
    ENROLLED,
    CourseProgress,
    DailyActivity,
    EnrollmentStatus,
    LessonProgress,
    ProgressChange,
    ProgressReport,
)
from services.analytics.domain.replicas import CourseFacts, LessonFacts
from services.analytics.service_layer.unit_of_work import ProgressRepository, ReplicaRepository

_PROGRESS_COLUMNS = (
    "user_id",
    "lesson_id",
    "course_id",
    "position_seconds",
    "max_position_seconds",
    "watched_seconds",
    "duration_seconds",
    "completed_at",
    "last_sent_at",
    "updated_at",
    "last_watch_delta",
    "completed_now",
)


def _reports_source(reports: Sequence[ProgressReport]) -> sa.Subquery:
    """The reports as a derived table (one SELECT of bound values per report)."""
    rows = [
        sa.select(
            sa.literal(report.lesson_id, sa.Uuid).label("lesson_id"),
            sa.literal(report.position_seconds, sa.Integer).label("position_seconds"),
            sa.literal(report.max_position_seconds, sa.Integer).label("max_position_seconds"),
            sa.literal(report.watched_seconds, sa.Integer).label("watched_seconds"),
            sa.literal(report.sent_at, UtcDateTime).label("sent_at"),
            sa.literal(report.complete, sa.Boolean).label("complete"),
        )
        for report in reports
    ]
    source = rows[0] if len(rows) == 1 else sa.union_all(*rows)
    return source.subquery("reports")


def _reached(watched: Any, duration: Any) -> sa.ColumnElement[bool]:
    """domain.model.completion_reached in SQL."""
    return sa.and_(duration > 0, watched >= duration * COMPLETION_RATIO)


def _record_statement(
    connection: AsyncConnection, user_id: UUID, reports: Sequence[ProgressReport], now: datetime
) -> Any:
    """One INSERT ... SELECT ... ON CONFLICT DO UPDATE ... RETURNING for every report.

    The SELECT keeps only lessons that exist in a course the user is enrolled in. On conflict
    the row is merged in place under the row lock, with domain.model.apply_report's rules:
    maxima for watched time and furthest position, the newest heartbeat's position, sticky
    completion; `last_watch_delta` and `completed_now` say what this write changed.
    """
    source = _reports_source(reports)
    reached = _reached(source.c.watched_seconds, lessons.c.duration_seconds)
    completes = sa.or_(source.c.complete, reached)
    select = (
        sa.select(
            sa.literal(user_id, sa.Uuid),
            source.c.lesson_id,
            lessons.c.course_id,
            source.c.position_seconds,
            source.c.max_position_seconds,
            source.c.watched_seconds,
            lessons.c.duration_seconds,
            sa.case((completes, source.c.sent_at), else_=sa.null()),
            source.c.sent_at,
            sa.literal(now, UtcDateTime),
            source.c.watched_seconds,
            completes,
        )
        .select_from(
            source.join(lessons, lessons.c.lesson_id == source.c.lesson_id).join(
                enrollments, enrollments.c.course_id == lessons.c.course_id
            )
        )
        .where(
            enrollments.c.user_id == user_id,
            enrollments.c.status.in_([status.value for status in ENROLLED]),
            lessons.c.deleted.is_(False),
        )
        # Rows are locked in this order: concurrent batches of one student cannot deadlock.
        .order_by(source.c.lesson_id)
    )
    insert = upsert(connection, lesson_progress).from_select(_PROGRESS_COLUMNS, select)
    new, old = insert.excluded, lesson_progress.c
    watched = greatest(old.watched_seconds, new.watched_seconds)
    completes_now = sa.and_(
        old.completed_at.is_(None),
        sa.or_(new.completed_at.is_not(None), _reached(watched, new.duration_seconds)),
    )
    return insert.on_conflict_do_update(
        index_elements=[old.user_id, old.lesson_id],
        set_={
            "course_id": new.course_id,
            "position_seconds": sa.case(
                (new.last_sent_at >= old.last_sent_at, new.position_seconds),
                else_=old.position_seconds,
            ),
            "max_position_seconds": greatest(old.max_position_seconds, new.max_position_seconds),
            "watched_seconds": watched,
            "duration_seconds": new.duration_seconds,
            "completed_at": sa.case((completes_now, new.last_sent_at), else_=old.completed_at),
            "last_sent_at": greatest(old.last_sent_at, new.last_sent_at),
            "updated_at": new.updated_at,
            "last_watch_delta": greatest(new.watched_seconds - old.watched_seconds, 0),
            "completed_now": completes_now,
        },
    ).returning(*(lesson_progress.c[name] for name in _PROGRESS_COLUMNS))


def lesson_progress_from_row(row: Any) -> LessonProgress:
    """A lesson_progress row as the domain object."""
    return LessonProgress(
        user_id=row.user_id,
        lesson_id=row.lesson_id,
        course_id=row.course_id,
        position_seconds=row.position_seconds,
        max_position_seconds=row.max_position_seconds,
        watched_seconds=row.watched_seconds,
        duration_seconds=row.duration_seconds,
        completed_at=row.completed_at,
        last_sent_at=row.last_sent_at,
        updated_at=row.updated_at,
    )


def course_progress_from_row(row: Any) -> CourseProgress:
    """A course_progress row as the aggregate."""
    return CourseProgress(
        user_id=row.user_id,
        course_id=row.course_id,
        completed_lessons=row.completed_lessons,
        total_lessons=row.total_lessons,
        completed_at=row.completed_at,
        version=row.version,
    )


class SqlProgressRepository(ProgressRepository):
    """Progress tables on the unit of work's connection."""

    def __init__(self, connection: AsyncConnection) -> None:
        super().__init__()
        self._connection = connection

    async def record(
        self, user_id: UUID, reports: Sequence[ProgressReport], now: datetime
    ) -> list[ProgressChange]:
        if not reports:
            return []
        result = await self._connection.execute(
            _record_statement(self._connection, user_id, reports, now)
        )
        return [
            ProgressChange(
                lesson_progress_from_row(row), row.last_watch_delta, bool(row.completed_now)
            )
            for row in result
        ]

    async def refusals(self, user_id: UUID, lesson_ids: Sequence[UUID]) -> dict[UUID, DomainError]:
        existing = set(
            (
                await self._connection.execute(
                    sa.select(lessons.c.lesson_id).where(
                        lessons.c.lesson_id.in_(lesson_ids), lessons.c.deleted.is_(False)
                    )
                )
            ).scalars()
        )
        return {
            lesson_id: NotEnrolled() if lesson_id in existing else LessonNotFound(lesson_id)
            for lesson_id in lesson_ids
        }

    async def add_activity(self, rows: Sequence[DailyActivity]) -> None:
        if not rows:
            return
        insert = upsert(self._connection, daily_activity).values(
            [
                {
                    "user_id": row.user_id,
                    "day": row.day,
                    "course_id": row.course_id,
                    "watch_seconds": row.watch_seconds,
                    "lessons_completed": row.lessons_completed,
                }
                for row in rows
            ]
        )
        table = daily_activity.c
        await self._connection.execute(
            insert.on_conflict_do_update(
                index_elements=[table.user_id, table.day, table.course_id],
                set_={
                    "watch_seconds": table.watch_seconds + insert.excluded.watch_seconds,
                    "lessons_completed": table.lessons_completed
                    + insert.excluded.lessons_completed,
                },
            )
        )

    async def course_progress(self, user_id: UUID, course_id: UUID) -> CourseProgress:
        # Create first, then lock: two first completions in one course wait for each other.
        await self._connection.execute(
            upsert(self._connection, course_progress)
            .values(
                user_id=user_id,
                course_id=course_id,
                completed_lessons=0,
                total_lessons=0,
                progress_percent=0.0,
                version=0,
                updated_at=utc_now(),
            )
            .on_conflict_do_nothing()
        )
        row = (
            await self._connection.execute(
                sa.select(course_progress)
                .where(
                    course_progress.c.user_id == user_id, course_progress.c.course_id == course_id
                )
                .with_for_update()
            )
        ).one()
        progress: CourseProgress = self._track(course_progress_from_row(row))
        return progress

    async def progress_of_course(self, course_id: UUID) -> list[CourseProgress]:
        rows = await self._connection.execute(
            sa.select(course_progress)
            .where(course_progress.c.course_id == course_id)
            .order_by(course_progress.c.user_id)
            .with_for_update()
        )
        return [self._track(course_progress_from_row(row)) for row in rows]

    async def completed_lessons(
        self, course_id: UUID, user_id: UUID | None = None
    ) -> dict[UUID, int]:
        query = (
            sa.select(lesson_progress.c.user_id, sa.func.count())
            .join(lessons, lessons.c.lesson_id == lesson_progress.c.lesson_id)
            .where(
                lesson_progress.c.course_id == course_id,
                lesson_progress.c.completed_at.is_not(None),
                lessons.c.deleted.is_(False),
            )
            .group_by(lesson_progress.c.user_id)
        )
        if user_id is not None:
            query = query.where(lesson_progress.c.user_id == user_id)
        return {row[0]: row[1] for row in await self._connection.execute(query)}

    async def lesson_total(self, course_id: UUID) -> int:
        count = await self._connection.scalar(
            sa.select(courses.c.lesson_count).where(courses.c.course_id == course_id)
        )
        return int(count or 0)

    async def save(self, progress: Sequence[CourseProgress]) -> None:
        if not progress:
            return
        table = course_progress.c
        await self._connection.execute(
            sa.update(course_progress)
            .where(
                table.user_id == sa.bindparam("key_user"),
                table.course_id == sa.bindparam("key_course"),
            )
            .values(
                completed_lessons=sa.bindparam("completed_lessons"),
                total_lessons=sa.bindparam("total_lessons"),
                progress_percent=sa.bindparam("progress_percent"),
                completed_at=sa.bindparam("completed_at"),
                version=sa.bindparam("version"),
                updated_at=sa.bindparam("updated_at"),
            ),
            [
                {
                    "key_user": item.user_id,
                    "key_course": item.course_id,
                    "completed_lessons": item.completed_lessons,
                    "total_lessons": item.total_lessons,
                    "progress_percent": item.percent,
                    "completed_at": item.completed_at,
                    "version": item.version,
                    "updated_at": utc_now(),
                }
                for item in progress
            ],
        )


class SqlReplicaRepository(ReplicaRepository):
    """Replica tables on the unit of work's connection."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def apply_course(self, facts: CourseFacts, version: int) -> None:
        changes: dict[str, Any] = {"instructor_id": facts.instructor_id, "version": version}
        if facts.title is not None:
            changes["title"] = facts.title
        if facts.status is not None:
            changes["status"] = facts.status
        if facts.deleted is not None:
            changes["deleted"] = facts.deleted
        if facts.published_at is not None:
            changes["published_at"] = facts.published_at
        insert = upsert(self._connection, courses).values(course_id=facts.course_id, **changes)
        await self._connection.execute(
            insert.on_conflict_do_update(
                index_elements=[courses.c.course_id],
                set_={name: insert.excluded[name] for name in changes},
                where=courses.c.version <= insert.excluded.version,
            )
        )

    async def apply_outline(
        self, course_id: UUID, lesson_count: int, duration_seconds: int, at: datetime
    ) -> bool:
        table = courses.c
        before = await self._connection.scalar(
            sa.select(table.lesson_count).where(table.course_id == course_id)
        )
        result = await self._connection.execute(
            sa.update(courses)
            .where(
                table.course_id == course_id,
                sa.or_(table.outline_at.is_(None), table.outline_at <= at),
            )
            .values(lesson_count=lesson_count, duration_seconds=duration_seconds, outline_at=at)
        )
        return bool(result.rowcount) and before != lesson_count

    async def apply_lessons(self, items: Sequence[LessonFacts], at: datetime) -> None:
        if not items:
            return
        with_titles = all(item.title is not None for item in items)
        insert = upsert(self._connection, lessons).values(
            [
                {
                    "lesson_id": item.lesson_id,
                    "course_id": item.course_id,
                    "section_id": item.section_id,
                    "title": item.title or "",
                    "order": item.order,
                    "position": item.position,
                    "duration_seconds": item.duration_seconds,
                    "is_preview": item.is_preview,
                    "deleted": item.deleted,
                    "facts_at": at,
                }
                for item in items
            ]
        )
        new, old = insert.excluded, lessons.c
        changes = {
            name: new[name]
            for name in (
                "course_id",
                "section_id",
                "order",
                "duration_seconds",
                "is_preview",
                "deleted",
                "facts_at",
            )
        }
        changes["position"] = sa.func.coalesce(new.position, old.position)
        if with_titles:
            changes["title"] = new.title
        await self._connection.execute(
            insert.on_conflict_do_update(
                index_elements=[old.lesson_id], set_=changes, where=old.facts_at <= new.facts_at
            )
        )

    async def apply_enrollment(
        self, user_id: UUID, course_id: UUID, status: EnrollmentStatus, version: int, at: datetime
    ) -> None:
        insert = upsert(self._connection, enrollments).values(
            user_id=user_id,
            course_id=course_id,
            status=status.value,
            enrolled_on=at.date() if status == EnrollmentStatus.ACTIVE else None,
            version=version,
            updated_at=at,
        )
        new, old = insert.excluded, enrollments.c
        await self._connection.execute(
            insert.on_conflict_do_update(
                index_elements=[old.user_id, old.course_id],
                set_={
                    "status": new.status,
                    "enrolled_on": sa.func.coalesce(old.enrolled_on, new.enrolled_on),
                    "version": new.version,
                    "updated_at": new.updated_at,
                },
                where=old.version <= new.version,
            )
        )

    async def apply_rating(self, course_id: UUID, average: float, count: int, at: datetime) -> None:
        table = courses.c
        await self._connection.execute(
            sa.update(courses)
            .where(
                table.course_id == course_id,
                sa.or_(table.rating_at.is_(None), table.rating_at <= at),
            )
            .values(rating_average=average, rating_count=count, rating_at=at)
        )

    async def add_quiz_attempt(
        self, user_id: UUID, lesson_id: UUID, course_id: UUID, correct: bool, at: datetime
    ) -> None:
        insert = upsert(self._connection, quiz_stats).values(
            user_id=user_id,
            lesson_id=lesson_id,
            course_id=course_id,
            attempts=1,
            correct=int(correct),
        )
        table = quiz_stats.c
        await self._connection.execute(
            insert.on_conflict_do_update(
                index_elements=[table.user_id, table.lesson_id],
                set_={
                    "attempts": table.attempts + 1,
                    "correct": table.correct + insert.excluded.correct,
                },
            )
        )

    async def apply_user(
        self,
        user_id: UUID,
        version: int,
        at: datetime,
        *,
        roles: Iterable[str] = (),
        revoked: Iterable[str] = (),
        registered: bool = False,
        deleted: bool = False,
    ) -> None:
        granted, taken = set(roles), set(revoked)
        flags: dict[str, bool | None] = {
            "is_student": _role_flag("student", granted, taken, full_set=registered),
            "is_instructor": _role_flag("instructor", granted, taken, full_set=registered),
            "deleted": True if deleted else None,
        }
        insert = upsert(self._connection, users).values(
            user_id=user_id,
            registered_on=at.date() if registered else None,
            version=version,
            **{name: bool(value) for name, value in flags.items()},
        )
        new, old = insert.excluded, users.c
        newer = old.version <= new.version
        changes: dict[str, Any] = {
            # Registration may arrive after a role change: its day is kept whatever the order.
            "registered_on": sa.func.coalesce(old.registered_on, new.registered_on),
            "version": greatest(old.version, new.version),
        }
        for name, value in flags.items():
            if value is not None:
                changes[name] = sa.case((newer, new[name]), else_=old[name])
        await self._connection.execute(
            insert.on_conflict_do_update(index_elements=[old.user_id], set_=changes)
        )


def _role_flag(role: str, granted: set[str], revoked: set[str], *, full_set: bool) -> bool | None:
    """True/False when the event says whether the user holds `role`; None when it does not."""
    if role in granted:
        return True
    if role in revoked or full_set:
        return False
    return None
