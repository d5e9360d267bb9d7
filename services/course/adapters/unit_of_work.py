"""The course service's Unit of Work on SQLAlchemy Core."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.uow import SqlUnitOfWork
from services.course.adapters.repository import SqlCatalogueReader, SqlCourseRepository
from services.course.service_layer.unit_of_work import CourseUnitOfWork


class SqlCourseUnitOfWork(SqlUnitOfWork, CourseUnitOfWork):
    """One transaction on the course database; events go to its outbox on commit."""

    def _create_repositories(self, connection: AsyncConnection) -> None:
        self.courses = SqlCourseRepository(connection)
        self.catalogue = SqlCatalogueReader(connection)
