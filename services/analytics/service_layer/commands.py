"""Inputs of the analytics use cases: requests from callers and facts from consumed events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from services.analytics.domain.model import EnrollmentStatus, Heartbeat
from services.analytics.domain.replicas import CourseFacts, LessonFacts, OutlineTotals

# ----------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class RecordHeartbeats:
    """Heartbeats of the caller's player (one, or an offline batch)."""

    heartbeats: tuple[Heartbeat, ...]


@dataclass(frozen=True)
class CompleteLesson:
    """Mark a lesson complete for the caller."""

    lesson_id: UUID


@dataclass(frozen=True)
class GetMyCourseProgress:
    """The caller's progress in a course."""

    course_id: UUID


@dataclass(frozen=True)
class GetCourseAnalytics:
    """A course's analytics; the daily series over from..to (YYYY-MM-DD, may be empty)."""

    course_id: UUID
    from_date: str = ""
    to_date: str = ""


@dataclass(frozen=True)
class GetStudentProgress:
    """One student's progress in a course."""

    course_id: UUID
    student_id: UUID


@dataclass(frozen=True)
class ExportCourseAnalytics:
    """Per-student progress of a course."""

    course_id: UUID


@dataclass(frozen=True)
class GetAdminMetrics:
    """Platform activity per day over from..to."""

    from_date: str = ""
    to_date: str = ""


# ----------------------------------------------------------------------------- consumed events


@dataclass(frozen=True)
class EventMeta:
    """Which consumer handles which event, and the event's time and aggregate version."""

    consumer: str
    event_id: str
    event_type: str
    occurred_at: datetime
    version: int


@dataclass(frozen=True)
class ApplyCourse:
    """course.created/updated/published/unpublished/archived/deleted/restored."""

    meta: EventMeta
    facts: CourseFacts
    outline: OutlineTotals | None = None
    lessons: tuple[LessonFacts, ...] = ()


@dataclass(frozen=True)
class ApplyLesson:
    """lesson.created/updated/deleted with the course totals after the change."""

    meta: EventMeta
    lesson: LessonFacts
    totals: OutlineTotals


@dataclass(frozen=True)
class ApplyEnrollment:
    """enrollment.created/activated/cancelled."""

    meta: EventMeta
    user_id: UUID
    course_id: UUID
    status: EnrollmentStatus


@dataclass(frozen=True)
class ApplyRating:
    """review.submitted/updated/deleted: the course's rating after the change."""

    meta: EventMeta
    course_id: UUID
    average: float
    count: int


@dataclass(frozen=True)
class ApplyQuizAttempt:
    """quiz.attempted."""

    meta: EventMeta
    user_id: UUID
    lesson_id: UUID
    course_id: UUID
    correct: bool


@dataclass(frozen=True)
class ApplyUserRegistered:
    """user.registered."""

    meta: EventMeta
    user_id: UUID
    roles: frozenset[str]


@dataclass(frozen=True)
class ApplyRoleChange:
    """user.role_granted / user.role_revoked."""

    meta: EventMeta
    user_id: UUID
    role: str
    granted: bool


@dataclass(frozen=True)
class ApplyUserDeleted:
    """user.deleted."""

    meta: EventMeta
    user_id: UUID


ReplicaCommand = (
    ApplyCourse
    | ApplyLesson
    | ApplyEnrollment
    | ApplyRating
    | ApplyQuizAttempt
    | ApplyUserRegistered
    | ApplyRoleChange
    | ApplyUserDeleted
)
