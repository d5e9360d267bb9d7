"""In-memory adapters for unit tests of the course service's handlers.

Repositories keep copies, so a handler that forgets to `save` changes nothing, and a rollback
restores the tables as they were when the unit of work began. `queries` (the SQL read models of
list routes) is not faked: those are covered by the integration tests.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

from kernel.domain import RaisedEvent
from services.course.domain.errors import (
    AlreadyEnrolled,
    ReviewAlreadyExists,
    SlugTaken,
    VersionConflict,
)
from services.course.domain.events import OutlineTotals, RatingTotals
from services.course.domain.model import (
    Category,
    Course,
    Enrollment,
    InstructorProfile,
    Lesson,
    QuizAttempt,
    QuizQuestion,
    Review,
    Section,
    Versioned,
)
from services.course.service_layer.unit_of_work import (
    CategoryRepository,
    CourseRepository,
    CourseUnitOfWork,
    EnrollmentRepository,
    InstructorRepository,
    LessonRepository,
    QuizAttemptRepository,
    QuizQuestionRepository,
    ReviewRepository,
    SectionRepository,
)

E = TypeVar("E")


def _copy(entity: E) -> E:
    """A detached copy without pending events."""
    duplicate = copy.deepcopy(entity)
    duplicate.__dict__.pop("_raised_events", None)
    return duplicate


def _write(table: dict[UUID, Any], entity: Versioned) -> None:
    stored = table.get(entity.id)
    if stored is None or stored.version != entity.stored_version:
        raise VersionConflict(entity.kind, entity.stored_version)
    entity.mark_stored()
    table[entity.id] = _copy(entity)


@dataclass
class FakeStore:
    """The tables."""

    courses: dict[UUID, Course] = field(default_factory=dict)
    categories: dict[UUID, Category] = field(default_factory=dict)
    sections: dict[UUID, Section] = field(default_factory=dict)
    lessons: dict[UUID, Lesson] = field(default_factory=dict)
    questions: dict[UUID, QuizQuestion] = field(default_factory=dict)
    attempts: list[QuizAttempt] = field(default_factory=list)
    enrollments: dict[UUID, Enrollment] = field(default_factory=dict)
    reviews: dict[UUID, Review] = field(default_factory=dict)
    rating_sums: dict[UUID, int] = field(default_factory=dict)
    instructors: dict[UUID, tuple[InstructorProfile, int]] = field(default_factory=dict)


class FakeCourseRepository(CourseRepository):
    def __init__(self, store: FakeStore) -> None:
        super().__init__()
        self.store = store

    async def add(self, course: Course) -> None:
        if any(existing.slug == course.slug for existing in self.store.courses.values()):
            raise SlugTaken(course.slug)
        self.store.courses[course.id] = _copy(course)
        self._track(course)

    async def get(self, course_id: UUID, *, for_update: bool = False) -> Course | None:
        found = self.store.courses.get(course_id)
        return self._track(_copy(found)) if found else None

    async def id_for_slug(self, slug: str) -> UUID | None:
        return next((c.id for c in self.store.courses.values() if c.slug == slug), None)

    async def slugs_like(self, base: str) -> set[str]:
        return {
            c.slug
            for c in self.store.courses.values()
            if c.slug == base or c.slug.startswith(f"{base}-")
        }

    async def save(self, course: Course) -> None:
        stored = self.store.courses[course.id]
        counters = {
            name: getattr(stored, name)
            for name in ("enrollment_count", "completion_count", "rating_average", "rating_count")
        }
        _write(self.store.courses, course)
        for name, value in counters.items():  # counters belong to other writes
            setattr(self.store.courses[course.id], name, value)

    async def recount_outline(self, course_id: UUID) -> OutlineTotals:
        live = [x for x in self.store.lessons.values() if x.course_id == course_id]
        live = [x for x in live if not x.is_deleted]
        course = self.store.courses[course_id]
        course.lesson_count = len(live)
        course.duration_seconds = sum(x.duration_seconds for x in live)
        return OutlineTotals(course.lesson_count, course.duration_seconds)

    async def adjust_enrollments(self, course_id: UUID, *, enrolled: int, completed: int) -> None:
        course = self.store.courses[course_id]
        course.enrollment_count += enrolled
        course.completion_count += completed

    async def adjust_rating(self, course_id: UUID, *, count: int, total: int) -> RatingTotals:
        course = self.store.courses[course_id]
        course.rating_count += count
        self.store.rating_sums[course_id] = self.store.rating_sums.get(course_id, 0) + total
        course.rating_average = (
            self.store.rating_sums[course_id] / course.rating_count if course.rating_count else 0
        )
        return RatingTotals(course.rating_average, course.rating_count)


class FakeCategoryRepository(CategoryRepository):
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def _check_slug(self, category: Category) -> None:
        if any(
            c.slug == category.slug and c.id != category.id for c in self.store.categories.values()
        ):
            raise SlugTaken(category.slug)

    async def add(self, category: Category) -> None:
        self._check_slug(category)
        self.store.categories[category.id] = _copy(category)

    async def get(self, category_id: UUID) -> Category | None:
        found = self.store.categories.get(category_id)
        return _copy(found) if found and not found.is_deleted else None

    async def live(self) -> list[Category]:
        return [_copy(c) for c in self.store.categories.values() if not c.is_deleted]

    async def save(self, category: Category) -> None:
        self._check_slug(category)
        _write(self.store.categories, category)

    async def slugs_like(self, base: str) -> set[str]:
        return {
            c.slug
            for c in self.store.categories.values()
            if c.slug == base or c.slug.startswith(f"{base}-")
        }

    async def has_courses(self, category_id: UUID) -> bool:
        return any(
            c.category_id == category_id and not c.is_deleted for c in self.store.courses.values()
        )


class FakeSectionRepository(SectionRepository):
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def add(self, *sections: Section) -> None:
        for section in sections:
            self.store.sections[section.id] = _copy(section)

    async def get(self, section_id: UUID) -> Section | None:
        found = self.store.sections.get(section_id)
        return _copy(found) if found and not found.is_deleted else None

    async def of_course(self, course_id: UUID) -> list[Section]:
        found = [
            s for s in self.store.sections.values() if s.course_id == course_id and not s.is_deleted
        ]
        return [_copy(s) for s in sorted(found, key=lambda s: s.order)]

    async def save(self, section: Section) -> None:
        _write(self.store.sections, section)

    async def save_orders(self, sections: Iterable[Section]) -> None:
        for section in sections:
            section.mark_stored()
            self.store.sections[section.id] = _copy(section)


class FakeLessonRepository(LessonRepository):
    def __init__(self, store: FakeStore) -> None:
        super().__init__()
        self.store = store

    async def add(self, *lessons: Lesson) -> None:
        for lesson in lessons:
            self.store.lessons[lesson.id] = _copy(lesson)
            self._track(lesson)

    async def get(self, lesson_id: UUID) -> Lesson | None:
        found = self.store.lessons.get(lesson_id)
        return self._track(_copy(found)) if found and not found.is_deleted else None

    def _live(self, **where: UUID) -> list[Lesson]:
        found = [
            x
            for x in self.store.lessons.values()
            if not x.is_deleted and all(getattr(x, k) == v for k, v in where.items())
        ]
        return [self._track(_copy(x)) for x in sorted(found, key=lambda x: x.order)]

    async def of_course(self, course_id: UUID) -> list[Lesson]:
        return self._live(course_id=course_id)

    async def of_section(self, section_id: UUID) -> list[Lesson]:
        return self._live(section_id=section_id)

    async def save(self, lesson: Lesson) -> None:
        _write(self.store.lessons, lesson)

    async def save_placements(self, lessons: Iterable[Lesson]) -> None:
        for lesson in lessons:
            lesson.mark_stored()
            self.store.lessons[lesson.id] = _copy(lesson)


class FakeQuizQuestionRepository(QuizQuestionRepository):
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def add(self, *questions: QuizQuestion) -> None:
        for question in questions:
            self.store.questions[question.id] = _copy(question)

    async def get(self, question_id: UUID) -> QuizQuestion | None:
        found = self.store.questions.get(question_id)
        return _copy(found) if found and not found.is_deleted else None

    async def of_lesson(self, lesson_id: UUID) -> list[QuizQuestion]:
        found = [
            q
            for q in self.store.questions.values()
            if q.lesson_id == lesson_id and not q.is_deleted
        ]
        return [_copy(q) for q in sorted(found, key=lambda q: q.timestamp_seconds)]

    async def of_course(self, course_id: UUID) -> list[QuizQuestion]:
        return [
            _copy(q)
            for q in self.store.questions.values()
            if q.course_id == course_id and not q.is_deleted
        ]

    async def save(self, question: QuizQuestion) -> None:
        _write(self.store.questions, question)


class FakeQuizAttemptRepository(QuizAttemptRepository):
    def __init__(self, store: FakeStore) -> None:
        super().__init__()
        self.store = store

    async def add(self, attempt: QuizAttempt) -> None:
        self.store.attempts.append(_copy(attempt))
        self._track(attempt)


class FakeEnrollmentRepository(EnrollmentRepository):
    def __init__(self, store: FakeStore) -> None:
        super().__init__()
        self.store = store

    async def add(self, enrollment: Enrollment) -> None:
        if await self.find(enrollment.user_id, enrollment.course_id):
            raise AlreadyEnrolled(enrollment.course_id)
        self.store.enrollments[enrollment.id] = _copy(enrollment)
        self._track(enrollment)

    async def get(self, enrollment_id: UUID) -> Enrollment | None:
        found = self.store.enrollments.get(enrollment_id)
        return self._track(_copy(found)) if found else None

    async def find(self, user_id: UUID, course_id: UUID) -> Enrollment | None:
        found = next(
            (
                e
                for e in self.store.enrollments.values()
                if (e.user_id, e.course_id) == (user_id, course_id)
            ),
            None,
        )
        return self._track(_copy(found)) if found else None

    async def save(self, enrollment: Enrollment) -> None:
        _write(self.store.enrollments, enrollment)


class FakeReviewRepository(ReviewRepository):
    def __init__(self, store: FakeStore) -> None:
        super().__init__()
        self.store = store

    async def add(self, review: Review) -> None:
        if any(
            (r.course_id, r.user_id) == (review.course_id, review.user_id) and not r.is_deleted
            for r in self.store.reviews.values()
        ):
            raise ReviewAlreadyExists(review.course_id)
        self.store.reviews[review.id] = _copy(review)
        self._track(review)

    async def get(self, review_id: UUID) -> Review | None:
        found = self.store.reviews.get(review_id)
        return self._track(_copy(found)) if found and not found.is_deleted else None

    async def save(self, review: Review) -> None:
        _write(self.store.reviews, review)


class FakeInstructorRepository(InstructorRepository):
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def get(self, user_id: UUID) -> InstructorProfile:
        found = self.store.instructors.get(user_id)
        return found[0] if found else InstructorProfile(id=user_id)

    async def upsert(self, profile: InstructorProfile, source_version: int) -> bool:
        stored = self.store.instructors.get(profile.id)
        if stored is not None and stored[1] >= source_version:
            return False
        self.store.instructors[profile.id] = (profile, source_version)
        return True


class FakeCourseUnitOfWork(CourseUnitOfWork):
    """Commits by keeping the tables and the staged events; rollback restores the tables."""

    def __init__(self, store: FakeStore | None = None) -> None:
        self.store = store or FakeStore()
        self.courses = FakeCourseRepository(self.store)
        self.categories = FakeCategoryRepository(self.store)
        self.sections = FakeSectionRepository(self.store)
        self.lessons = FakeLessonRepository(self.store)
        self.quiz_questions = FakeQuizQuestionRepository(self.store)
        self.quiz_attempts = FakeQuizAttemptRepository(self.store)
        self.enrollments = FakeEnrollmentRepository(self.store)
        self.reviews = FakeReviewRepository(self.store)
        self.instructors = FakeInstructorRepository(self.store)
        self.published: list[RaisedEvent] = []
        self._staged: list[RaisedEvent] = []
        self._snapshot: dict[str, Any] = {}
        self.commits = 0

    def event_types(self) -> list[str]:
        """Names of the committed events, in order."""
        return [type(raised.event).__name__ for raised in self.published]

    async def _begin(self) -> None:
        self._staged = []
        self._snapshot = copy.deepcopy(self.store.__dict__)

    async def _stage(self, events: list[RaisedEvent]) -> None:
        self._staged = events

    async def _commit(self) -> None:
        self.published.extend(self._staged)
        self.commits += 1

    async def rollback(self) -> None:
        self._staged = []
        self.store.__dict__.update(self._snapshot)
