"""What the analytics service knows of other services' aggregates, from their events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from services.analytics.domain.model import EnrollmentStatus


@dataclass(frozen=True)
class CourseFacts:
    """A course as its events describe it; None fields are not carried by the event."""

    course_id: UUID
    instructor_id: UUID
    title: str | None = None
    status: str | None = None
    deleted: bool | None = None
    published_at: datetime | None = None


@dataclass(frozen=True)
class OutlineTotals:
    """A course's lesson count and duration after an outline change."""

    lesson_count: int
    duration_seconds: int


@dataclass(frozen=True)
class LessonFacts:
    """A lesson as its events describe it."""

    lesson_id: UUID
    course_id: UUID
    section_id: UUID | None
    order: int
    duration_seconds: int
    is_preview: bool
    title: str | None = None  # not carried by course.published
    position: int | None = None  # place in the course outline, from course.published
    deleted: bool = False


@dataclass(frozen=True)
class Course:
    """The replica of a course: owner, status and the totals analytics need."""

    course_id: UUID
    instructor_id: UUID
    title: str
    status: str
    deleted: bool
    lesson_count: int
    rating_average: float
    rating_count: int


@dataclass(frozen=True)
class Lesson:
    """The replica of a lesson."""

    lesson_id: UUID
    course_id: UUID
    section_id: UUID | None
    title: str
    order: int
    duration_seconds: int


@dataclass(frozen=True)
class Enrollment:
    """The replica of an enrolment."""

    user_id: UUID
    course_id: UUID
    status: EnrollmentStatus
