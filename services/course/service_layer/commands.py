"""Inputs of the course service's use cases, free of protobuf."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from services.course.domain.model import (
    CategoryChanges,
    Change,
    CourseChanges,
    CourseDraft,
    CourseStatus,
    Difficulty,
    EnrollmentStatus,
    LessonChanges,
    LessonDraft,
    QuizQuestionChanges,
)


@dataclass(frozen=True)
class PageRequest:
    """Page size (already clamped) and the sort key the page starts after."""

    size: int
    after: list[Any] | None = None


class CourseOrder(StrEnum):
    """Orders of the catalogue; every one ends with the id so that it is stable."""

    NEWEST = "newest"
    POPULAR = "popular"
    RATING = "rating"
    PRICE = "price"
    PRICE_DESC = "-price"


@dataclass(frozen=True, kw_only=True)
class CourseFilter:
    """Catalogue filters; None means "any"."""

    words: tuple[str, ...] = ()
    category_id: UUID | None = None
    difficulty: Difficulty | None = None
    language: str | None = None
    is_free: bool | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    min_rating: float | None = None
    instructor_id: UUID | None = None
    tag: str | None = None


@dataclass(frozen=True)
class ListCourses:
    """A page of the public catalogue."""

    filter: CourseFilter
    order: CourseOrder
    page: PageRequest


@dataclass(frozen=True)
class ListTeaching:
    """A page of the caller's own courses."""

    status: CourseStatus | None
    page: PageRequest


@dataclass(frozen=True)
class CreateCategory:
    """Add a category to the tree."""

    name: str
    slug: str
    parent_id: UUID | None
    order: int


@dataclass(frozen=True)
class UpdateCategory:
    """Change a category."""

    category_id: UUID
    changes: CategoryChanges
    expected_version: int | None = None


@dataclass(frozen=True)
class DeleteCategory:
    """Remove an empty category."""

    category_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True)
class CreateCourse:
    """Create a draft course for the calling instructor."""

    draft: CourseDraft


@dataclass(frozen=True)
class GetCourse:
    """Read one course by UUID or slug."""

    id_or_slug: str


@dataclass(frozen=True)
class UpdateCourse:
    """Change catalogue fields of a course."""

    course_id: UUID
    changes: CourseChanges
    expected_version: int | None = None


@dataclass(frozen=True)
class CourseAction:
    """A lifecycle step (publish, unpublish, archive, delete, restore) on one course."""

    course_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True)
class DuplicateCourse:
    """Deep-copy a course as a new draft."""

    course_id: UUID


@dataclass(frozen=True)
class ListSections:
    """The sections of a course with their lessons."""

    course_id: UUID


@dataclass(frozen=True)
class CreateSection:
    """Append a section to a course."""

    course_id: UUID
    title: str


@dataclass(frozen=True)
class UpdateSection:
    """Rename a section."""

    course_id: UUID
    section_id: UUID
    title: Change[str]
    expected_version: int | None = None


@dataclass(frozen=True)
class DeleteSection:
    """Remove a section and its lessons."""

    course_id: UUID
    section_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True)
class ReorderSections:
    """Put every section of a course in a new order."""

    course_id: UUID
    section_ids: tuple[UUID, ...]


@dataclass(frozen=True)
class CreateLesson:
    """Append a lesson to a section."""

    section_id: UUID
    draft: LessonDraft


@dataclass(frozen=True)
class GetLesson:
    """Read a lesson with its quiz questions."""

    lesson_id: UUID


@dataclass(frozen=True)
class UpdateLesson:
    """Change a lesson."""

    lesson_id: UUID
    changes: LessonChanges
    expected_version: int | None = None


@dataclass(frozen=True)
class DeleteLesson:
    """Remove a lesson."""

    lesson_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True)
class ReorderLessons:
    """Put every lesson of a section in a new order."""

    section_id: UUID
    lesson_ids: tuple[UUID, ...]


@dataclass(frozen=True)
class MoveLesson:
    """Move a lesson to (a position in) another section of its course."""

    lesson_id: UUID
    section_id: UUID
    order: int | None = None
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class CreateQuizQuestion:
    """Add a question to a lesson."""

    lesson_id: UUID
    prompt: str
    options: tuple[str, ...]
    correct_option: int
    explanation: str = ""
    timestamp_seconds: int = 0


@dataclass(frozen=True)
class UpdateQuizQuestion:
    """Change a question."""

    question_id: UUID
    changes: QuizQuestionChanges
    expected_version: int | None = None


@dataclass(frozen=True)
class DeleteQuizQuestion:
    """Remove a question."""

    question_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True)
class AttemptQuiz:
    """Answer a question."""

    question_id: UUID
    selected_option: int
    time_spent_seconds: int = 0


@dataclass(frozen=True)
class Enrol:
    """Enrol the caller in a course."""

    course_id: UUID


@dataclass(frozen=True)
class Unenrol:
    """Cancel the caller's enrolment in a course."""

    course_id: UUID


@dataclass(frozen=True)
class ActivateEnrollment:
    """Mark a pending enrolment as paid."""

    enrollment_id: UUID


@dataclass(frozen=True)
class ListMyEnrollments:
    """A page of the caller's enrolments."""

    status: EnrollmentStatus | None
    page: PageRequest


@dataclass(frozen=True)
class ListStudents:
    """A page of a course's students."""

    course_id: UUID
    status: EnrollmentStatus | None
    page: PageRequest


@dataclass(frozen=True)
class ListReviews:
    """A page of a course's reviews."""

    course_id: UUID
    page: PageRequest


@dataclass(frozen=True)
class CreateReview:
    """Review a course."""

    course_id: UUID
    rating: int
    title: str = ""
    comment: str = ""


@dataclass(frozen=True, kw_only=True)
class UpdateReview:
    """Edit a review."""

    review_id: UUID
    rating: Change[int]
    title: Change[str]
    comment: Change[str]
    expected_version: int | None = None


@dataclass(frozen=True)
class DeleteReview:
    """Remove a review."""

    review_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True)
class ApplyInstructorProfile:
    """A user profile as published by the user service (user.profile_updated)."""

    user_id: UUID
    display_name: str
    avatar_url: str
    # Aggregate version of the event: profiles older than the stored one are ignored.
    source_version: int


@dataclass(frozen=True, kw_only=True)
class ApplyProgress:
    """Progress of a student in a course as computed by analytics.

    From `course.progress_updated` (completed=False) and `course.completed` (completed=True).
    """

    user_id: UUID
    course_id: UUID
    progress_percent: float
    completed: bool
    source_version: int
    occurred_at: datetime
