"""The analytics service's Unit of Work on SQLAlchemy Core."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.uow import SqlUnitOfWork
from services.analytics.adapters.reports import SqlReportQueries
from services.analytics.adapters.repository import SqlProgressRepository, SqlReplicaRepository
from services.analytics.service_layer.unit_of_work import AnalyticsUnitOfWork


class SqlAnalyticsUnitOfWork(SqlUnitOfWork, AnalyticsUnitOfWork):
    """One transaction on the analytics database; events go to its outbox on commit."""

    def _create_repositories(self, connection: AsyncConnection) -> None:
        self.progress = SqlProgressRepository(connection)
        self.replicas = SqlReplicaRepository(connection)
        self.reports = SqlReportQueries(connection)
