"""The user service's Unit of Work on SQLAlchemy Core."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.uow import SqlUnitOfWork
from services.user.adapters.repository import (
    RoleCatalogueMemo,
    SqlAuditLog,
    SqlResetTokenRepository,
    SqlRoleRepository,
    SqlSessionRepository,
    SqlTeachingRepository,
    SqlThrottleRepository,
    SqlUserRepository,
)
from services.user.service_layer.unit_of_work import UserUnitOfWork


class SqlUserUnitOfWork(SqlUnitOfWork, UserUnitOfWork):
    """One transaction on the identity database; events go to its outbox on commit."""

    def __init__(
        self, *args: Any, role_catalogue: RoleCatalogueMemo | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._role_catalogue = role_catalogue or RoleCatalogueMemo()

    def _create_repositories(self, connection: AsyncConnection) -> None:
        self.users = SqlUserRepository(connection)
        self.sessions = SqlSessionRepository(connection)
        self.reset_tokens = SqlResetTokenRepository(connection)
        self.roles = SqlRoleRepository(connection, self._role_catalogue)
        self.audit = SqlAuditLog(connection)
        self.throttles = SqlThrottleRepository(connection)
        self.teaching = SqlTeachingRepository(connection)
