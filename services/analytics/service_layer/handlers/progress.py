"""Recording progress: heartbeats from the player and explicit lesson completion."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from uuid import UUID

from kernel.clock import utc_now
from kernel.errors import DomainError
from kernel.security import Caller
from services.analytics.domain.model import (
    Heartbeat,
    LessonProgress,
    ProgressChange,
    ProgressReport,
    daily_activity,
    merge_heartbeats,
)
from services.analytics.service_layer.commands import CompleteLesson, RecordHeartbeats
from services.analytics.service_layer.unit_of_work import AnalyticsUnitOfWork


@dataclass(frozen=True)
class Recorded:
    """Progress after a write, per lesson written; why the other lessons were refused."""

    progress: list[LessonProgress]
    rejected: dict[UUID, DomainError] = field(default_factory=dict)


async def record_heartbeats(
    command: RecordHeartbeats,
    uow: AnalyticsUnitOfWork,
    caller: Caller,
    *,
    now: datetime | None = None,
) -> Recorded:
    """Apply heartbeats (one statement for all of them); lessons the caller may not record
    progress for are skipped and reported. A heartbeat sent "in the future" counts as now."""
    user_id = caller.require_user()
    at = now or utc_now()
    beats = [
        beat if beat.sent_at <= at else replace(beat, sent_at=at) for beat in command.heartbeats
    ]
    return await _record(uow, user_id, beats, merge_heartbeats(beats), at)


async def record_heartbeat(
    command: RecordHeartbeats,
    uow: AnalyticsUnitOfWork,
    caller: Caller,
    *,
    now: datetime | None = None,
) -> LessonProgress:
    """One heartbeat: its lesson's progress, or why it was refused (403 NOT_ENROLLED, 404)."""
    recorded = await record_heartbeats(command, uow, caller, now=now)
    return _single(recorded)


async def complete_lesson(
    command: CompleteLesson,
    uow: AnalyticsUnitOfWork,
    caller: Caller,
    *,
    now: datetime | None = None,
) -> LessonProgress:
    """Mark a lesson complete (idempotent: completing it again changes nothing)."""
    user_id = caller.require_user()
    at = now or utc_now()
    report = ProgressReport.completion(command.lesson_id, at)
    return _single(await _record(uow, user_id, [], [report], at))


def _single(recorded: Recorded) -> LessonProgress:
    if recorded.rejected:
        raise next(iter(recorded.rejected.values()))
    return recorded.progress[0]


async def _record(
    uow: AnalyticsUnitOfWork,
    user_id: UUID,
    beats: Sequence[Heartbeat],
    reports: Sequence[ProgressReport],
    now: datetime,
) -> Recorded:
    async with uow:
        changes = await uow.progress.record(user_id, reports, now)
        written = {change.progress.lesson_id for change in changes}
        refused = [report.lesson_id for report in reports if report.lesson_id not in written]
        rejected = await uow.progress.refusals(user_id, refused) if refused else {}
        if changes:
            await uow.progress.add_activity(daily_activity(user_id, beats, changes, now.date()))
            await _count_completions(uow, user_id, changes, now)
            await uow.commit()
    return Recorded([change.progress for change in changes], rejected)


async def _count_completions(
    uow: AnalyticsUnitOfWork, user_id: UUID, changes: Sequence[ProgressChange], now: datetime
) -> None:
    """Newly completed lessons move the course progress (a few statements per course, and
    only when a lesson completes: heartbeats that complete nothing stop before this)."""
    completed: dict[UUID, list[UUID]] = defaultdict(list)
    for change in changes:
        if change.completed_now:
            completed[change.progress.course_id].append(change.progress.lesson_id)
    for course_id, lesson_ids in sorted(completed.items()):  # one lock order for everyone
        progress = await uow.progress.course_progress(user_id, course_id)
        counts = await uow.progress.completed_lessons(course_id, user_id)
        total = await uow.progress.lesson_total(course_id)
        progress.lessons_completed(
            lesson_ids, completed=counts.get(user_id, 0), total=total, at=now
        )
        await uow.progress.save([progress])
