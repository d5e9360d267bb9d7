"""Domain events raised by the catalogue's aggregates (mapped to protobuf in mappers.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from kernel.domain import DomainEvent


@dataclass(frozen=True)
class LessonFacts:
    """What consumers need of a lesson to weigh progress."""

    lesson_id: UUID
    section_id: UUID
    order: int
    duration_seconds: int
    is_preview: bool


@dataclass(frozen=True)
class OutlineTotals:
    """A course's live lesson count and total duration after a change."""

    lesson_count: int
    duration_seconds: int


@dataclass(frozen=True)
class RatingTotals:
    """A course's rating aggregates after a change."""

    average: float
    count: int


@dataclass(frozen=True)
class CourseFacts:
    """A snapshot of a course's catalogue fields, carried by its events."""

    course_id: UUID
    instructor_id: UUID
    title: str
    slug: str
    status: str
    category_id: UUID | None
    price: Decimal
    currency: str
    difficulty: str | None
    language: str
    tags: tuple[str, ...]

    @property
    def is_free(self) -> bool:
        """A zero price."""
        return self.price == 0


@dataclass(frozen=True, kw_only=True)
class CourseCreated(DomainEvent):
    """A draft course was created (from scratch or by duplication)."""

    course: CourseFacts
    duplicated_from: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class CourseUpdated(DomainEvent):
    """Catalogue fields of a course changed."""

    course: CourseFacts
    changed_fields: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class CoursePublished(DomainEvent):
    """The course entered the catalogue; its outline at that moment."""

    course: CourseFacts
    published_at: datetime
    lessons: tuple[LessonFacts, ...]
    totals: OutlineTotals


@dataclass(frozen=True, kw_only=True)
class CourseUnpublished(DomainEvent):
    """The course left the catalogue."""

    course_id: UUID
    instructor_id: UUID


@dataclass(frozen=True, kw_only=True)
class CourseArchived(DomainEvent):
    """The course was archived."""

    course_id: UUID
    instructor_id: UUID


@dataclass(frozen=True, kw_only=True)
class CourseDeleted(DomainEvent):
    """The course was soft-deleted."""

    course_id: UUID
    instructor_id: UUID
    deleted_by: UUID


@dataclass(frozen=True, kw_only=True)
class CourseRestored(DomainEvent):
    """An admin undid the soft delete."""

    course_id: UUID
    instructor_id: UUID
    status: str


@dataclass(frozen=True, kw_only=True)
class LessonCreated(DomainEvent):
    """A lesson was added to a course."""

    course_id: UUID
    title: str
    lesson: LessonFacts
    totals: OutlineTotals


@dataclass(frozen=True, kw_only=True)
class LessonUpdated(DomainEvent):
    """A lesson changed (fields, position or section)."""

    course_id: UUID
    title: str
    lesson: LessonFacts
    changed_fields: tuple[str, ...]
    totals: OutlineTotals


@dataclass(frozen=True, kw_only=True)
class LessonDeleted(DomainEvent):
    """A lesson was soft-deleted (alone or with its section)."""

    course_id: UUID
    lesson: LessonFacts
    totals: OutlineTotals


@dataclass(frozen=True, kw_only=True)
class EnrollmentCreated(DomainEvent):
    """A student enrolled (again)."""

    enrollment_id: UUID
    user_id: UUID
    course_id: UUID
    instructor_id: UUID
    status: str
    price: Decimal
    currency: str
    course_lesson_count: int


@dataclass(frozen=True, kw_only=True)
class EnrollmentActivated(DomainEvent):
    """A pending enrolment became active."""

    enrollment_id: UUID
    user_id: UUID
    course_id: UUID
    activated_by: UUID


@dataclass(frozen=True, kw_only=True)
class EnrollmentCancelled(DomainEvent):
    """The student unenrolled."""

    enrollment_id: UUID
    user_id: UUID
    course_id: UUID
    previous_status: str


@dataclass(frozen=True, kw_only=True)
class ReviewSubmitted(DomainEvent):
    """A student reviewed a course."""

    review_id: UUID
    course_id: UUID
    user_id: UUID
    rating: int
    totals: RatingTotals


@dataclass(frozen=True, kw_only=True)
class ReviewUpdated(DomainEvent):
    """A review was edited."""

    review_id: UUID
    course_id: UUID
    user_id: UUID
    rating: int
    previous_rating: int
    totals: RatingTotals


@dataclass(frozen=True, kw_only=True)
class ReviewDeleted(DomainEvent):
    """A review was deleted by its author or an admin."""

    review_id: UUID
    course_id: UUID
    user_id: UUID
    rating: int
    deleted_by: UUID
    totals: RatingTotals


@dataclass(frozen=True, kw_only=True)
class QuizAttempted(DomainEvent):
    """A student answered a quiz question."""

    attempt_id: UUID
    question_id: UUID
    lesson_id: UUID
    course_id: UUID
    user_id: UUID
    selected_option: int
    correct_option: int
    correct: bool
    time_spent_seconds: int
    timestamp_seconds: int
