"""The course service's Unit of Work on SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.db import Database
from kernel.outbox import OutboxWriter
from kernel.uow import SqlUnitOfWork
from services.course.adapters.queries import SqlCatalogueQueries
from services.course.adapters.repository import (
    SqlCategoryRepository,
    SqlCourseRepository,
    SqlEnrollmentRepository,
    SqlInstructorRepository,
    SqlLessonRepository,
    SqlQuizAttemptRepository,
    SqlQuizQuestionRepository,
    SqlReviewRepository,
    SqlSectionRepository,
)
from services.course.adapters.stale import StaleViews
from services.course.service_layer.unit_of_work import CourseUnitOfWork

Invalidator = Callable[[StaleViews], Awaitable[None]]


class SqlCourseUnitOfWork(SqlUnitOfWork, CourseUnitOfWork):
    """One transaction on the course database; events go to its outbox on commit, and the
    cached views the writes touched are evicted right after the commit."""

    def __init__(
        self,
        database: Database,
        outbox: OutboxWriter,
        *,
        read_only: bool = False,
        on_commit: Callable[[], None] | None = None,
        invalidate: Invalidator | None = None,
    ) -> None:
        super().__init__(database, outbox, read_only=read_only, on_commit=on_commit)
        self._invalidate = invalidate
        self.stale = StaleViews()

    def _create_repositories(self, connection: AsyncConnection) -> None:
        self.stale = StaleViews()
        self.courses = SqlCourseRepository(connection, self.stale)
        self.categories = SqlCategoryRepository(connection, self.stale)
        self.sections = SqlSectionRepository(connection, self.stale)
        self.lessons = SqlLessonRepository(connection, self.stale)
        self.quiz_questions = SqlQuizQuestionRepository(connection)
        self.quiz_attempts = SqlQuizAttemptRepository(connection)
        self.enrollments = SqlEnrollmentRepository(connection)
        self.reviews = SqlReviewRepository(connection)
        self.instructors = SqlInstructorRepository(connection, self.stale)
        self.queries = SqlCatalogueQueries(connection)

    async def commit(self) -> None:
        """Commit, then evict what changed (after: a reader must not re-cache the old rows)."""
        await super().commit()
        if self._invalidate is not None and self.stale:
            await self._invalidate(self.stale)
