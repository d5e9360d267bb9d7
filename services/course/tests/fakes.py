"""In-memory adapters for unit tests of the course service's handlers."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from kernel.domain import RaisedEvent
from kernel.uow import TrackingRepository
from services.course.domain.errors import SlugTaken
from services.course.domain.model import Category, Course, InstructorProfile
from services.course.service_layer.unit_of_work import (
    CatalogueReader,
    CourseRepository,
    CourseUnitOfWork,
)


class FakeCourseRepository(CourseRepository):
    """Courses in a dict."""

    def __init__(self, courses: Iterable[Course] = ()) -> None:
        super().__init__()
        self.rows = {course.id: course for course in courses}

    async def add(self, course: Course) -> None:
        if any(existing.slug == course.slug for existing in self.rows.values()):
            raise SlugTaken(course.slug)
        self.rows[course.id] = course
        self._track(course)

    async def get(self, course_id: UUID) -> Course | None:
        return self._track(self.rows.get(course_id))

    async def get_by_slug(self, slug: str) -> Course | None:
        return self._track(next((c for c in self.rows.values() if c.slug == slug), None))

    async def slugs_like(self, base: str) -> set[str]:
        return {
            c.slug for c in self.rows.values() if c.slug == base or c.slug.startswith(f"{base}-")
        }


class FakeCatalogue(CatalogueReader):
    """Instructor profiles and categories in dicts."""

    def __init__(self) -> None:
        self.instructors: dict[UUID, InstructorProfile] = {}
        self.categories: dict[UUID, Category] = {}

    async def instructor(self, instructor_id: UUID) -> InstructorProfile:
        return self.instructors.get(instructor_id, InstructorProfile(id=instructor_id))

    async def category(self, category_id: UUID) -> Category | None:
        return self.categories.get(category_id)


class FakeCourseUnitOfWork(CourseUnitOfWork):
    """Commits by remembering the staged events; rollback forgets uncommitted ones."""

    courses: FakeCourseRepository

    def __init__(self) -> None:
        self.courses = FakeCourseRepository()
        self.catalogue = FakeCatalogue()
        self.published: list[RaisedEvent] = []
        self._staged: list[RaisedEvent] = []
        self.commits = 0

    def repositories(self) -> Iterable[TrackingRepository]:
        return (self.courses,)

    async def _begin(self) -> None:
        self._staged = []

    async def _stage(self, events: list[RaisedEvent]) -> None:
        self._staged = events

    async def _commit(self) -> None:
        self.published.extend(self._staged)
        self.commits += 1

    async def rollback(self) -> None:
        self._staged = []
