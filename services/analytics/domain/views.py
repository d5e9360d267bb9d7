"""Read models served to students, instructors and admins."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from services.analytics.domain.model import EnrollmentStatus, LessonProgress
from services.analytics.domain.replicas import Lesson


@dataclass(frozen=True)
class QuizTotals:
    """Quiz answers and how many were right."""

    attempts: int = 0
    correct: int = 0

    @property
    def accuracy(self) -> float:
        """Share of correct answers, 0 to 100."""
        return percent(self.correct, self.attempts)


@dataclass(frozen=True)
class ResumePoint:
    """The lesson and position to continue from."""

    lesson_id: UUID
    position_seconds: int


@dataclass(frozen=True)
class CourseProgressView:
    """A student's progress in one course."""

    course_id: UUID
    progress_percent: float
    completed_lessons: int
    total_lessons: int
    last_lesson: ResumePoint | None
    time_spent_seconds: int
    quiz: QuizTotals
    completed_at: datetime | None


@dataclass(frozen=True)
class CourseInProgress:
    """An enrolled, not yet completed course on the dashboard."""

    course_id: UUID
    title: str
    progress_percent: float
    completed_lessons: int
    total_lessons: int
    last_activity_at: datetime | None


@dataclass(frozen=True)
class RecentLesson:
    """A recently watched lesson on the dashboard."""

    progress: LessonProgress
    lesson_title: str
    course_title: str


@dataclass(frozen=True)
class Dashboard:
    """A student's learning overview."""

    time_spent_today_seconds: int
    time_spent_this_week_seconds: int
    current_streak_days: int
    courses_in_progress: list[CourseInProgress]
    recent_activity: list[RecentLesson]


@dataclass(frozen=True)
class DailyCourseStats:
    """One day of a course."""

    day: date
    enrollments: int = 0
    active_students: int = 0
    watch_seconds: int = 0


@dataclass(frozen=True)
class LessonAnalytics:
    """How the students of a course watch one lesson."""

    lesson_id: UUID
    title: str
    section_id: UUID | None
    order: int
    duration_seconds: int
    views: int
    average_watch_seconds: float
    completion_rate: float
    drop_off: list[float]
    quiz: QuizTotals


@dataclass(frozen=True)
class CourseAnalytics:
    """An instructor's view of one course."""

    course_id: UUID
    enrollments: int
    active_students_7d: int
    completion_rate: float
    average_progress: float
    rating_average: float
    rating_count: int
    first_day: date
    last_day: date
    daily: list[DailyCourseStats]
    lessons: list[LessonAnalytics]


@dataclass(frozen=True)
class StudentLesson:
    """One lesson of a course with a student's progress in it (None: not started)."""

    lesson: Lesson
    progress: LessonProgress | None
    quiz: QuizTotals


@dataclass(frozen=True)
class StudentProgress:
    """One student's progress in a course, lesson by lesson."""

    course_id: UUID
    student_id: UUID
    enrollment_status: EnrollmentStatus
    progress_percent: float
    completed_lessons: int
    total_lessons: int
    time_spent_seconds: int
    quiz: QuizTotals
    completed_at: datetime | None
    lessons: list[StudentLesson] = field(default_factory=list)


@dataclass(frozen=True)
class ExportRow:
    """One enrolled student in the CSV export."""

    student_id: UUID
    enrollment_status: EnrollmentStatus
    enrolled_on: date | None
    progress_percent: float
    completed_lessons: int
    total_lessons: int
    time_spent_seconds: int
    quiz: QuizTotals
    last_activity_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True)
class CourseExport:
    """Per-student progress of a course."""

    course_id: UUID
    generated_on: date
    rows: list[ExportRow]


@dataclass(frozen=True)
class PlatformStats:
    """Platform totals."""

    total_courses: int
    total_students: int
    total_instructors: int
    total_enrollments: int
    average_rating: float


@dataclass(frozen=True)
class DailyPlatformMetrics:
    """One day of the platform."""

    day: date
    signups: int = 0
    enrollments: int = 0
    active_learners: int = 0
    lessons_completed: int = 0


@dataclass(frozen=True)
class AdminMetrics:
    """Platform activity per day over a range."""

    first_day: date
    last_day: date
    days: list[DailyPlatformMetrics]


def percent(part: float, whole: float) -> float:
    """`part` of `whole` as 0 to 100 with two decimals (0 when `whole` is 0)."""
    if whole <= 0:
        return 0.0
    return round(max(0.0, min(100.0, 100.0 * part / whole)), 2)
