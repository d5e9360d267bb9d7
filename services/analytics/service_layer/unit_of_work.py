"""The analytics Unit of Work contract and the repository interfaces it exposes."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from kernel.errors import DomainError
from kernel.uow import AbstractUnitOfWork, TrackingRepository
from services.analytics.domain.metrics import DayRange
from services.analytics.domain.model import (
    CourseProgress,
    DailyActivity,
    EnrollmentStatus,
    LessonProgress,
    ProgressChange,
    ProgressReport,
)
from services.analytics.domain.replicas import Course, CourseFacts, Lesson, LessonFacts
from services.analytics.domain.views import (
    CourseInProgress,
    DailyCourseStats,
    DailyPlatformMetrics,
    ExportRow,
    PlatformStats,
    QuizTotals,
    RecentLesson,
)


class ProgressRepository(TrackingRepository, abc.ABC):
    """Lesson progress, daily activity and course progress (the aggregate raising events)."""

    @abc.abstractmethod
    async def record(
        self, user_id: UUID, reports: Sequence[ProgressReport], now: datetime
    ) -> list[ProgressChange]:
        """Apply each report to the lesson's progress, atomically per lesson, where the user is
        enrolled in the lesson's course; lessons missing from the result were not written."""

    @abc.abstractmethod
    async def refusals(self, user_id: UUID, lesson_ids: Sequence[UUID]) -> dict[UUID, DomainError]:
        """Why `record` skipped these lessons: LessonNotFound or NotEnrolled."""

    @abc.abstractmethod
    async def add_activity(self, rows: Sequence[DailyActivity]) -> None:
        """Add watched seconds and completed lessons to the daily totals."""

    @abc.abstractmethod
    async def course_progress(self, user_id: UUID, course_id: UUID) -> CourseProgress:
        """The student's progress in the course, locked until commit (created when missing)."""

    @abc.abstractmethod
    async def progress_of_course(self, course_id: UUID) -> list[CourseProgress]:
        """Every student's progress in the course, locked until commit."""

    @abc.abstractmethod
    async def completed_lessons(
        self, course_id: UUID, user_id: UUID | None = None
    ) -> dict[UUID, int]:
        """Completed, not deleted lessons of the course per student (one student if given)."""

    @abc.abstractmethod
    async def lesson_total(self, course_id: UUID) -> int:
        """The course's lesson count as its events reported it."""

    @abc.abstractmethod
    async def save(self, progress: Sequence[CourseProgress]) -> None:
        """Write changed course progress."""


class ReplicaRepository(abc.ABC):
    """Courses, lessons, enrolments, ratings, quiz answers and users, as their events say.

    Every write is guarded so that an older event (by aggregate version or event time) never
    overwrites a newer one, whatever order redeliveries arrive in.
    """

    @abc.abstractmethod
    async def apply_course(self, facts: CourseFacts, version: int) -> None:
        """Upsert the course's owner, title, status and deletion."""

    @abc.abstractmethod
    async def apply_outline(
        self, course_id: UUID, lesson_count: int, duration_seconds: int, at: datetime
    ) -> bool:
        """Set the lesson count unless a newer one is stored; True when the count changed."""

    @abc.abstractmethod
    async def apply_lessons(self, lessons: Sequence[LessonFacts], at: datetime) -> None:
        """Upsert lessons unless newer facts are stored."""

    @abc.abstractmethod
    async def apply_enrollment(
        self, user_id: UUID, course_id: UUID, status: EnrollmentStatus, version: int, at: datetime
    ) -> None:
        """Upsert the enrolment's status; the first activation fixes its enrolment day."""

    @abc.abstractmethod
    async def apply_rating(self, course_id: UUID, average: float, count: int, at: datetime) -> None:
        """Set the course's rating aggregates unless newer ones are stored."""

    @abc.abstractmethod
    async def add_quiz_attempt(
        self, user_id: UUID, lesson_id: UUID, course_id: UUID, correct: bool, at: datetime
    ) -> None:
        """Count one quiz answer."""

    @abc.abstractmethod
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
        """Upsert a user: roles granted or revoked, registration day, deletion."""


@dataclass(frozen=True)
class CourseKpis:
    """Headline figures of a course."""

    enrollments: int
    completed: int
    average_progress: float


@dataclass(frozen=True)
class LessonWatch:
    """How the viewers of one lesson watched it."""

    views: int
    watched_seconds: int
    completed: int
    buckets: dict[int, int]  # tenth of the video reached at most -> viewers


class ReportQueries(abc.ABC):
    """Read models; every method is a fixed number of indexed queries."""

    @abc.abstractmethod
    async def course(self, course_id: UUID) -> Course | None:
        """The course replica."""

    @abc.abstractmethod
    async def enrollment(self, user_id: UUID, course_id: UUID) -> EnrollmentStatus | None:
        """The student's enrolment status in the course."""

    @abc.abstractmethod
    async def course_progress(self, user_id: UUID, course_id: UUID) -> CourseProgress | None:
        """The student's progress in the course (not locked)."""

    @abc.abstractmethod
    async def lesson_progress(self, user_id: UUID, course_id: UUID) -> list[LessonProgress]:
        """The student's progress in each lesson of the course they started."""

    @abc.abstractmethod
    async def quiz_of_student(self, user_id: UUID, course_id: UUID) -> dict[UUID, QuizTotals]:
        """The student's quiz answers per lesson of the course."""

    @abc.abstractmethod
    async def watch_by_day(self, user_id: UUID, since: date) -> dict[date, int]:
        """Watched seconds per day with any activity, from `since` on."""

    @abc.abstractmethod
    async def courses_in_progress(self, user_id: UUID, limit: int) -> list[CourseInProgress]:
        """Active, not completed enrolments, most recently watched first."""

    @abc.abstractmethod
    async def recent_lessons(self, user_id: UUID, limit: int) -> list[RecentLesson]:
        """The most recently watched lessons, newest first."""

    @abc.abstractmethod
    async def course_kpis(self, course_id: UUID) -> CourseKpis:
        """Enrolled (active or completed) and completed students, average progress."""

    @abc.abstractmethod
    async def active_students(self, course_id: UUID, since: date) -> int:
        """Students with activity in the course from `since` on."""

    @abc.abstractmethod
    async def course_days(self, course_id: UUID, days: DayRange) -> dict[date, DailyCourseStats]:
        """Enrolments, active students and watched seconds per day with any of them."""

    @abc.abstractmethod
    async def lessons(self, course_id: UUID) -> list[Lesson]:
        """The course's lessons in outline order."""

    @abc.abstractmethod
    async def lesson_watch(self, course_id: UUID) -> dict[UUID, LessonWatch]:
        """Viewing statistics per lesson of the course."""

    @abc.abstractmethod
    async def quiz_of_course(self, course_id: UUID) -> dict[UUID, QuizTotals]:
        """Quiz answers per lesson of the course, every student together."""

    @abc.abstractmethod
    async def export_rows(self, course_id: UUID) -> list[ExportRow]:
        """One row per student who ever enrolled, by enrolment day."""

    @abc.abstractmethod
    async def platform_stats(self) -> PlatformStats:
        """Platform totals."""

    @abc.abstractmethod
    async def platform_days(self, days: DayRange) -> dict[date, DailyPlatformMetrics]:
        """Signups, enrolments, active learners and completed lessons per day with any."""


class AnalyticsUnitOfWork(AbstractUnitOfWork):
    """What handlers get: repositories plus commit/rollback."""

    progress: ProgressRepository
    replicas: ReplicaRepository
    reports: ReportQueries

    def repositories(self) -> Iterable[TrackingRepository]:
        """The repository whose aggregates raise events."""
        return (self.progress,)
