"""Learning progress: heartbeats, a student's progress in a lesson and in a course.

The rules here are the reference semantics. The SQL adapter applies the lesson rules in one
atomic upsert per write (no read-modify-write), so it restates them in SQL; the tests hold both
to the same behaviour.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from kernel.domain import Aggregate, DomainEvent
from services.analytics.domain import events

# A lesson counts as complete once this share of its duration was watched.
COMPLETION_RATIO = 0.9


class EnrollmentStatus(StrEnum):
    """Status of an enrolment as the course service reports it."""

    PENDING_PAYMENT = "pending_payment"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


# Statuses that let a student record and see progress.
ENROLLED = frozenset({EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED})


def completion_reached(watched_seconds: int, duration_seconds: int) -> bool:
    """90 % watched; a lesson without a known duration completes only explicitly."""
    return duration_seconds > 0 and watched_seconds >= duration_seconds * COMPLETION_RATIO


@dataclass(frozen=True)
class Heartbeat:
    """One report of the video player."""

    lesson_id: UUID
    position_seconds: int
    watched_seconds: int  # cumulative for the lesson
    sent_at: datetime


@dataclass(frozen=True)
class ProgressReport:
    """What one write applies to one lesson: its heartbeats merged, or an explicit completion."""

    lesson_id: UUID
    position_seconds: int  # of the newest heartbeat
    max_position_seconds: int
    watched_seconds: int
    sent_at: datetime  # of the newest heartbeat
    complete: bool = False

    @classmethod
    def completion(cls, lesson_id: UUID, at: datetime) -> ProgressReport:
        """Mark a lesson complete without moving anything else (max semantics keep the rest)."""
        return cls(lesson_id, 0, 0, 0, at, complete=True)


def merge_heartbeats(heartbeats: Iterable[Heartbeat]) -> list[ProgressReport]:
    """One report per lesson, in first-seen order: the merge is order-independent because
    watched time and furthest position take the maximum and the position follows the newest."""
    merged: dict[UUID, ProgressReport] = {}
    for beat in heartbeats:
        known = merged.get(beat.lesson_id)
        if known is None:
            merged[beat.lesson_id] = ProgressReport(
                beat.lesson_id,
                beat.position_seconds,
                beat.position_seconds,
                beat.watched_seconds,
                beat.sent_at,
            )
            continue
        newest = beat if beat.sent_at >= known.sent_at else None
        merged[beat.lesson_id] = ProgressReport(
            beat.lesson_id,
            newest.position_seconds if newest else known.position_seconds,
            max(known.max_position_seconds, beat.position_seconds),
            max(known.watched_seconds, beat.watched_seconds),
            newest.sent_at if newest else known.sent_at,
        )
    return list(merged.values())


@dataclass(frozen=True)
class LessonProgress:
    """A student's progress in one lesson."""

    user_id: UUID
    lesson_id: UUID
    course_id: UUID
    position_seconds: int
    max_position_seconds: int
    watched_seconds: int
    duration_seconds: int
    completed_at: datetime | None
    last_sent_at: datetime
    updated_at: datetime

    @property
    def completed(self) -> bool:
        """Complete by watching or explicitly."""
        return self.completed_at is not None


@dataclass(frozen=True)
class ProgressChange:
    """The outcome of one write to a lesson's progress."""

    progress: LessonProgress
    watch_delta: int  # how much watched time grew
    completed_now: bool  # this write completed the lesson

    @property
    def watched_before(self) -> int:
        """Watched time before this write."""
        return self.progress.watched_seconds - self.watch_delta


def apply_report(
    current: LessonProgress | None,
    *,
    user_id: UUID,
    course_id: UUID,
    duration_seconds: int,
    report: ProgressReport,
    now: datetime,
) -> ProgressChange:
    """Monotonic merge: watched time and furthest position never decrease, the resume position
    follows the newest heartbeat, and completion, once reached, stays."""
    before = current.watched_seconds if current else 0
    watched = max(before, report.watched_seconds)
    was_completed = current is not None and current.completed_at is not None
    completed_at = current.completed_at if current else None
    if not was_completed and (report.complete or completion_reached(watched, duration_seconds)):
        completed_at = report.sent_at
    if current is None or report.sent_at >= current.last_sent_at:
        position, last_sent_at = report.position_seconds, report.sent_at
    else:  # an out-of-order heartbeat: the resume position stays
        position, last_sent_at = current.position_seconds, current.last_sent_at
    progress = LessonProgress(
        user_id=user_id,
        lesson_id=report.lesson_id,
        course_id=course_id,
        position_seconds=position,
        max_position_seconds=max(
            current.max_position_seconds if current else 0, report.max_position_seconds
        ),
        watched_seconds=watched,
        duration_seconds=duration_seconds,
        completed_at=completed_at,
        last_sent_at=last_sent_at,
        updated_at=now,
    )
    return ProgressChange(
        progress, watched - before, not was_completed and completed_at is not None
    )


@dataclass(frozen=True)
class DailyActivity:
    """A student's learning in one course on one UTC day."""

    user_id: UUID
    day: date
    course_id: UUID
    watch_seconds: int = 0
    lessons_completed: int = 0


def daily_activity(
    user_id: UUID, heartbeats: Sequence[Heartbeat], changes: Sequence[ProgressChange], today: date
) -> list[DailyActivity]:
    """Per (day, course): the watched time each heartbeat added, on the day it was sent, and
    the lessons completed. Every day with a heartbeat counts as active, even without new time."""
    by_lesson: dict[UUID, list[Heartbeat]] = defaultdict(list)
    for beat in heartbeats:
        by_lesson[beat.lesson_id].append(beat)
    watched: dict[tuple[date, UUID], int] = defaultdict(int)
    completed: dict[tuple[date, UUID], int] = defaultdict(int)
    for change in changes:
        course_id = change.progress.course_id
        reached = change.watched_before
        beats = sorted(by_lesson.get(change.progress.lesson_id, ()), key=lambda b: b.sent_at)
        for beat in beats:
            gained = max(0, min(beat.watched_seconds, change.progress.watched_seconds) - reached)
            watched[(beat.sent_at.date(), course_id)] += gained
            reached += gained
        if not beats:  # an explicit completion
            watched[(today, course_id)] += 0
        if change.completed_now and change.progress.completed_at is not None:
            completed[(change.progress.completed_at.date(), course_id)] += 1
    return [
        DailyActivity(
            user_id, day, course_id, watched.get((day, course_id), 0), completed[(day, course_id)]
        )
        for day, course_id in sorted(set(watched) | set(completed))
    ]


@dataclass(eq=False, kw_only=True)
class CourseProgress(Aggregate):
    """A student's progress in a course: completed lessons over the course's lesson count.

    Its events go to the course service in order; the version grows with each event so that a
    consumer can ignore reports older than one it applied. Completion is sticky: once every
    lesson was complete, the course stays completed at 100 % even if lessons are added later.
    """

    aggregate_type = "course_progress"

    user_id: UUID
    course_id: UUID
    completed_lessons: int = 0
    total_lessons: int = 0
    completed_at: datetime | None = None
    version: int = 0

    def aggregate_key(self) -> str:
        """One event stream per student and course."""
        return f"{self.user_id}:{self.course_id}"

    @property
    def percent(self) -> float:
        """0 to 100, two decimals."""
        if self.completed_at is not None:
            return 100.0
        if self.total_lessons <= 0:
            return 0.0
        return round(min(100.0, 100.0 * self.completed_lessons / self.total_lessons), 2)

    def lessons_completed(
        self, lesson_ids: Sequence[UUID], *, completed: int, total: int, at: datetime
    ) -> None:
        """Announce newly completed lessons, then apply the fresh count."""
        for lesson_id in lesson_ids:
            self._raise(
                events.LessonCompleted(
                    user_id=self.user_id, lesson_id=lesson_id, course_id=self.course_id
                )
            )
        self.recount(completed=completed, total=total, at=at)

    def recount(self, *, completed: int, total: int, at: datetime) -> bool:
        """Apply a fresh count of completed lessons and the course's lesson count; True (and
        events raised) when the progress changed."""
        if (completed, total) == (self.completed_lessons, self.total_lessons):
            return False
        self.completed_lessons, self.total_lessons = completed, total
        completes = self.completed_at is None and 0 < total <= completed
        if completes:
            self.completed_at = at
        self._raise(
            events.CourseProgressUpdated(
                user_id=self.user_id,
                course_id=self.course_id,
                progress_percent=self.percent,
                completed_lessons=completed,
                total_lessons=total,
            )
        )
        if completes:
            self._raise(events.CourseCompleted(user_id=self.user_id, course_id=self.course_id))
        return True

    def _raise(self, event: DomainEvent) -> None:
        self.version += 1
        self.record(event)
