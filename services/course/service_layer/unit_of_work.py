"""The course service's Unit of Work contract and the repository interfaces it exposes."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from uuid import UUID

from kernel.uow import AbstractUnitOfWork, TrackingRepository
from services.course.domain.model import Category, Course, InstructorProfile


class CourseRepository(TrackingRepository, abc.ABC):
    """Courses as aggregates (writes) and by id or slug (reads)."""

    @abc.abstractmethod
    async def add(self, course: Course) -> None:
        """Insert a new course."""

    @abc.abstractmethod
    async def get(self, course_id: UUID) -> Course | None:
        """The course with this id, deleted or not."""

    @abc.abstractmethod
    async def get_by_slug(self, slug: str) -> Course | None:
        """The course with this slug, deleted or not."""

    @abc.abstractmethod
    async def slugs_like(self, base: str) -> set[str]:
        """Existing slugs equal to `base` or of the form `base-<n>`."""


class CatalogueReader(abc.ABC):
    """Lookups that decorate courses: instructor replica and categories."""

    @abc.abstractmethod
    async def instructor(self, instructor_id: UUID) -> InstructorProfile:
        """The replicated profile (a bare id when none has been replicated yet)."""

    @abc.abstractmethod
    async def category(self, category_id: UUID) -> Category | None:
        """The category, if it exists."""


class CourseUnitOfWork(AbstractUnitOfWork):
    """What handlers get: repositories plus commit/rollback."""

    courses: CourseRepository
    catalogue: CatalogueReader

    def repositories(self) -> Iterable[TrackingRepository]:
        """Repositories whose aggregates may raise events."""
        return (self.courses,)
