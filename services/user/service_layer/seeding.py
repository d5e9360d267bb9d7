"""Administrator accounts made outside the API: the start-up seed and the CLI."""

from __future__ import annotations

import logging
from enum import StrEnum

from services.user.domain.errors import RoleNotFound
from services.user.domain.model import (
    SUPER_ADMIN,
    AuditType,
    ClientInfo,
    User,
    UserView,
    normalize_email,
)
from services.user.service_layer.commands import CreateAdmin
from services.user.service_layer.ports import Dependencies
from services.user.service_layer.shared import audit, view_of
from services.user.service_layer.unit_of_work import UserUnitOfWork

_log = logging.getLogger(__name__)
_SYSTEM = ClientInfo(user_agent="unpuzzle-user-service")


class AdminOutcome(StrEnum):
    """What `create_admin` and `seed_super_admin` did."""

    CREATED = "created"
    ROLE_GRANTED = "role_granted"
    UNCHANGED = "unchanged"
    SUPER_ADMIN_EXISTS = "super_admin_exists"
    EMAIL_TAKEN = "email_taken"


async def create_admin(
    command: CreateAdmin, uow: UserUnitOfWork, deps: Dependencies
) -> tuple[UserView, AdminOutcome]:
    """Create an account with `role`, or add the role to the account with this email.

    An existing account keeps its password: this grants a role, it does not take over accounts.
    """
    email = normalize_email(command.email)
    deps.policy.check(command.password, email=email, field="password")
    password_hash = await deps.passwords.hash(command.password)
    now = deps.clock()
    async with uow:
        if command.role not in await uow.roles.catalogue():
            raise RoleNotFound(command.role)
        user = await uow.users.get_by_email(email)
        if user is None:
            user = User.register(
                email=command.email, full_name=command.full_name, roles={command.role}, now=now
            )
            await uow.users.add(user, password_hash)
            outcome = AdminOutcome.CREATED
            kind = AuditType.USER_REGISTERED
        elif user.grant_role(command.role, actor=user.id, now=now):
            await uow.users.save(user)
            outcome = AdminOutcome.ROLE_GRANTED
            kind = AuditType.ROLE_GRANTED
        else:
            return await view_of(uow, user), AdminOutcome.UNCHANGED
        await audit(uow, kind, now, _SYSTEM, user_id=user.id, details={"role": command.role})
        view = await view_of(uow, user)
        await uow.commit()
    return view, outcome


async def seed_super_admin(
    email: str, password: str, uow: UserUnitOfWork, deps: Dependencies
) -> AdminOutcome:
    """Idempotent start-up seed: create the configured super admin when there is none.

    An account that already uses the email is never promoted here: whoever registered it first
    would otherwise become super admin.
    """
    async with uow:
        if await uow.users.active_super_admins():
            return AdminOutcome.SUPER_ADMIN_EXISTS
        if await uow.users.get_by_email(normalize_email(email)) is not None:
            _log.error(
                "no super admin exists and the configured admin email belongs to an ordinary "
                "account; create one with `python -m services.user create-admin`",
                extra={"email": email},
            )
            return AdminOutcome.EMAIL_TAKEN
    _, outcome = await create_admin(
        CreateAdmin(email=email, password=password, role=SUPER_ADMIN),
        uow,
        deps,
    )
    return outcome
