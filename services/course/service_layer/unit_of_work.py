"""The course service's Unit of Work contract and the repository interfaces it exposes.

Repositories hand out domain objects and write them back explicitly (`save`, optimistic
concurrency on `version`); `CatalogueQueries` returns read models for list pages. Every method
issues a fixed number of statements, whatever the number of rows.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from kernel.uow import AbstractUnitOfWork, TrackingRepository
from services.course.domain.events import OutlineTotals, RatingTotals
from services.course.domain.model import (
    Category,
    Course,
    CourseCard,
    CourseStatus,
    Enrollment,
    EnrollmentStatus,
    EnrollmentView,
    InstructorProfile,
    Lesson,
    QuizAttempt,
    QuizQuestion,
    Review,
    Section,
)
from services.course.service_layer.commands import (
    CourseFilter,
    CourseOrder,
    PageRequest,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a keyset-paginated list."""

    items: list[T]
    total: int
    # Sort key of the last item when more items follow (goes into the next page token).
    next_key: list[Any] | None


class CourseRepository(TrackingRepository, abc.ABC):
    """Courses as aggregates, plus the counters other writes keep on them."""

    @abc.abstractmethod
    async def add(self, course: Course) -> None:
        """Insert a new course; SlugTaken when the slug is used."""

    @abc.abstractmethod
    async def get(self, course_id: UUID, *, for_update: bool = False) -> Course | None:
        """The course with this id, deleted or not (`for_update` locks it for child writes)."""

    @abc.abstractmethod
    async def id_for_slug(self, slug: str) -> UUID | None:
        """The id of the course with this slug, deleted or not."""

    @abc.abstractmethod
    async def slugs_like(self, base: str) -> set[str]:
        """Existing slugs equal to `base` or of the form `base-<n>`."""

    @abc.abstractmethod
    async def save(self, course: Course) -> None:
        """Write the catalogue fields if the row is still at `stored_version` (else conflict)."""

    @abc.abstractmethod
    async def recount_outline(self, course_id: UUID) -> OutlineTotals:
        """Recompute lesson count and duration from the live lessons; returns them."""

    @abc.abstractmethod
    async def adjust_enrollments(self, course_id: UUID, *, enrolled: int, completed: int) -> None:
        """Add to enrollmentCount and completionCount (atomically, concurrent-safe)."""

    @abc.abstractmethod
    async def adjust_rating(self, course_id: UUID, *, count: int, total: int) -> RatingTotals:
        """Add to the review count and rating sum (atomically); returns the new aggregates."""


class CategoryRepository(abc.ABC):
    """Categories (a small table, read whole for the tree)."""

    @abc.abstractmethod
    async def add(self, category: Category) -> None:
        """Insert; SlugTaken when the slug is used."""

    @abc.abstractmethod
    async def get(self, category_id: UUID) -> Category | None:
        """A live category."""

    @abc.abstractmethod
    async def live(self) -> list[Category]:
        """Every live category."""

    @abc.abstractmethod
    async def save(self, category: Category) -> None:
        """Write back if still at `stored_version`; SlugTaken when the slug is used."""

    @abc.abstractmethod
    async def slugs_like(self, base: str) -> set[str]:
        """Existing slugs equal to `base` or of the form `base-<n>`."""

    @abc.abstractmethod
    async def has_courses(self, category_id: UUID) -> bool:
        """True when a live course is filed under the category."""


class SectionRepository(abc.ABC):
    """Sections of courses."""

    @abc.abstractmethod
    async def add(self, *sections: Section) -> None:
        """Insert sections."""

    @abc.abstractmethod
    async def get(self, section_id: UUID) -> Section | None:
        """A live section."""

    @abc.abstractmethod
    async def of_course(self, course_id: UUID) -> list[Section]:
        """The live sections of a course in order."""

    @abc.abstractmethod
    async def save(self, section: Section) -> None:
        """Write back if still at `stored_version`."""

    @abc.abstractmethod
    async def save_orders(self, sections: Sequence[Section]) -> None:
        """Write the positions (one statement) of sections renumbered together."""


class LessonRepository(TrackingRepository, abc.ABC):
    """Lessons (aggregates: they raise lesson.* events)."""

    @abc.abstractmethod
    async def add(self, *lessons: Lesson) -> None:
        """Insert lessons."""

    @abc.abstractmethod
    async def get(self, lesson_id: UUID) -> Lesson | None:
        """A live lesson."""

    @abc.abstractmethod
    async def of_course(self, course_id: UUID) -> list[Lesson]:
        """The live lessons of a course, by section then position."""

    @abc.abstractmethod
    async def of_section(self, section_id: UUID) -> list[Lesson]:
        """The live lessons of a section in order."""

    @abc.abstractmethod
    async def save(self, lesson: Lesson) -> None:
        """Write back if still at `stored_version`."""

    @abc.abstractmethod
    async def save_placements(self, lessons: Sequence[Lesson]) -> None:
        """Write section, position, version and deletion of lessons changed together."""


class QuizQuestionRepository(abc.ABC):
    """Quiz questions of lessons."""

    @abc.abstractmethod
    async def add(self, *questions: QuizQuestion) -> None:
        """Insert questions."""

    @abc.abstractmethod
    async def get(self, question_id: UUID) -> QuizQuestion | None:
        """A live question."""

    @abc.abstractmethod
    async def of_lesson(self, lesson_id: UUID) -> list[QuizQuestion]:
        """The live questions of a lesson by timestamp."""

    @abc.abstractmethod
    async def of_course(self, course_id: UUID) -> list[QuizQuestion]:
        """The live questions of every lesson of a course."""

    @abc.abstractmethod
    async def save(self, question: QuizQuestion) -> None:
        """Write back if still at `stored_version`."""


class QuizAttemptRepository(TrackingRepository, abc.ABC):
    """Graded answers (insert only)."""

    @abc.abstractmethod
    async def add(self, attempt: QuizAttempt) -> None:
        """Store an attempt."""


class EnrollmentRepository(TrackingRepository, abc.ABC):
    """Enrolments, one per student and course."""

    @abc.abstractmethod
    async def add(self, enrollment: Enrollment) -> None:
        """Insert; AlreadyEnrolled when the student has a row for the course."""

    @abc.abstractmethod
    async def get(self, enrollment_id: UUID) -> Enrollment | None:
        """By id."""

    @abc.abstractmethod
    async def find(self, user_id: UUID, course_id: UUID) -> Enrollment | None:
        """The student's enrolment in the course, in any status."""

    @abc.abstractmethod
    async def save(self, enrollment: Enrollment) -> None:
        """Write back if still at `stored_version`."""


class ReviewRepository(TrackingRepository, abc.ABC):
    """Reviews, one live review per student and course."""

    @abc.abstractmethod
    async def add(self, review: Review) -> None:
        """Insert; ReviewAlreadyExists when the student has a live review of the course."""

    @abc.abstractmethod
    async def get(self, review_id: UUID) -> Review | None:
        """A live review."""

    @abc.abstractmethod
    async def save(self, review: Review) -> None:
        """Write back if still at `stored_version`."""


class InstructorRepository(abc.ABC):
    """The replica of user profiles (display name and avatar)."""

    @abc.abstractmethod
    async def get(self, user_id: UUID) -> InstructorProfile:
        """The profile, or a bare id when none has been replicated yet."""

    @abc.abstractmethod
    async def upsert(self, profile: InstructorProfile, source_version: int) -> bool:
        """Store the profile unless a newer one is stored; True when it changed the row."""


class CatalogueQueries(abc.ABC):
    """Read models of the list routes (SQL only: unit tests use the repositories)."""

    @abc.abstractmethod
    async def courses(
        self,
        course_filter: CourseFilter,
        category_ids: frozenset[UUID] | None,
        order: CourseOrder,
        page: PageRequest,
    ) -> Page[CourseCard]:
        """Published, live courses matching the filter (category ids: the filter's subtree)."""

    @abc.abstractmethod
    async def teaching(
        self, instructor_id: UUID, status: CourseStatus | None, page: PageRequest
    ) -> Page[CourseCard]:
        """An instructor's live courses, most recently updated first."""

    @abc.abstractmethod
    async def enrollments_of(
        self, user_id: UUID, status: EnrollmentStatus | None, page: PageRequest
    ) -> Page[EnrollmentView]:
        """A student's enrolments with their (live) courses, newest first."""

    @abc.abstractmethod
    async def students_of(
        self, course_id: UUID, status: EnrollmentStatus | None, page: PageRequest
    ) -> Page[Enrollment]:
        """The enrolments of a course, newest first."""

    @abc.abstractmethod
    async def reviews_of(self, course_id: UUID, page: PageRequest) -> Page[Review]:
        """Live reviews of a course, newest first."""

    @abc.abstractmethod
    async def rating_histogram(self, course_id: UUID) -> dict[int, int]:
        """Live reviews per rating, 1..5."""

    @abc.abstractmethod
    async def popular_course_ids(self, limit: int) -> list[UUID]:
        """The most enrolled published courses (for cache warming)."""


class CourseUnitOfWork(AbstractUnitOfWork):
    """What handlers get: repositories plus commit/rollback."""

    courses: CourseRepository
    categories: CategoryRepository
    sections: SectionRepository
    lessons: LessonRepository
    quiz_questions: QuizQuestionRepository
    quiz_attempts: QuizAttemptRepository
    enrollments: EnrollmentRepository
    reviews: ReviewRepository
    instructors: InstructorRepository
    queries: CatalogueQueries

    def repositories(self) -> Iterable[TrackingRepository]:
        """Repositories whose aggregates may raise events."""
        return (self.courses, self.lessons, self.quiz_attempts, self.enrollments, self.reviews)
