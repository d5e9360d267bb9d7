"""Effects of the course and user services' events on the replicas and on progress.

Each event is applied in one transaction together with its inbox record (`claim_event`), so a
redelivered event changes nothing. Writes are also guarded by aggregate version or event time,
so events that arrive out of order never overwrite newer facts.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from services.analytics.domain.model import DailyActivity
from services.analytics.service_layer.commands import (
    ApplyCourse,
    ApplyEnrollment,
    ApplyLesson,
    ApplyQuizAttempt,
    ApplyRating,
    ApplyRoleChange,
    ApplyUserDeleted,
    ApplyUserRegistered,
    ReplicaCommand,
)
from services.analytics.service_layer.unit_of_work import AnalyticsUnitOfWork


async def apply_event(command: ReplicaCommand, uow: AnalyticsUnitOfWork) -> bool:
    """Apply one consumed event; False when this consumer had already handled it."""
    meta = command.meta
    async with uow:
        if not await uow.claim_event(meta.consumer, meta.event_id, meta.event_type):
            return False
        await _apply(command, uow)
        await uow.commit()
    return True


async def _apply(command: ReplicaCommand, uow: AnalyticsUnitOfWork) -> None:
    meta = command.meta
    replicas = uow.replicas
    match command:
        case ApplyCourse(facts=facts, outline=outline, lessons=lessons):
            await replicas.apply_course(facts, meta.version)
            if lessons:
                await replicas.apply_lessons(lessons, meta.occurred_at)
            if outline is not None and await replicas.apply_outline(
                facts.course_id, outline.lesson_count, outline.duration_seconds, meta.occurred_at
            ):
                await _recount_course(uow, facts.course_id, meta.occurred_at)
        case ApplyLesson(lesson=lesson, totals=totals):
            await replicas.apply_lessons([lesson], meta.occurred_at)
            changed = await replicas.apply_outline(
                lesson.course_id, totals.lesson_count, totals.duration_seconds, meta.occurred_at
            )
            if changed or lesson.deleted:
                await _recount_course(uow, lesson.course_id, meta.occurred_at)
        case ApplyEnrollment():
            await replicas.apply_enrollment(
                command.user_id, command.course_id, command.status, meta.version, meta.occurred_at
            )
        case ApplyRating():
            await replicas.apply_rating(
                command.course_id, command.average, command.count, meta.occurred_at
            )
        case ApplyQuizAttempt():
            await replicas.add_quiz_attempt(
                command.user_id,
                command.lesson_id,
                command.course_id,
                command.correct,
                meta.occurred_at,
            )
            # Answering a quiz is learning activity of that day.
            await uow.progress.add_activity(
                [DailyActivity(command.user_id, meta.occurred_at.date(), command.course_id)]
            )
        case ApplyUserRegistered():
            await replicas.apply_user(
                command.user_id,
                meta.version,
                meta.occurred_at,
                roles=command.roles,
                registered=True,
            )
        case ApplyRoleChange():
            await replicas.apply_user(
                command.user_id,
                meta.version,
                meta.occurred_at,
                roles=[command.role] if command.granted else [],
                revoked=[] if command.granted else [command.role],
            )
        case ApplyUserDeleted():
            await replicas.apply_user(command.user_id, meta.version, meta.occurred_at, deleted=True)


async def _recount_course(uow: AnalyticsUnitOfWork, course_id: UUID, at: datetime) -> None:
    """The course's lessons changed: every student's progress is recounted, and those whose
    progress moved get a course.progress_updated (rare: authoring, not learning)."""
    total = await uow.progress.lesson_total(course_id)
    counts = await uow.progress.completed_lessons(course_id)
    changed = [
        progress
        for progress in await uow.progress.progress_of_course(course_id)
        if progress.recount(completed=counts.get(progress.user_id, 0), total=total, at=at)
    ]
    if changed:
        await uow.progress.save(changed)
