"""Account administration: search, suspension, roles and the audit trail.

Every use case checks the caller's permission itself; the gateway only forwards the token.
"""

from __future__ import annotations

from uuid import UUID

from kernel.errors import PermissionDenied
from kernel.security import Caller
from services.user.domain.errors import RoleNotFound, UserNotFound
from services.user.domain.model import (
    SUPER_ADMIN,
    AuditEntry,
    AuditType,
    RevocationReason,
    User,
    UserStatus,
    UserView,
)
from services.user.service_layer.commands import (
    ChangeRole,
    ListAuditEvents,
    ListUsers,
    UpdateUser,
)
from services.user.service_layer.ports import Dependencies
from services.user.service_layer.shared import (
    Page,
    PageRequest,
    audit,
    check_version,
    ensure_other_super_admin,
    revoke_all,
    revoke_sessions_now,
    revoke_user_tokens_now,
    view_of,
)
from services.user.service_layer.unit_of_work import AuditFilter, UserFilter, UserUnitOfWork

READ_USERS = "user:read"
MANAGE_USERS = "user:manage"
MANAGE_ROLES = "user:manage_roles"
READ_AUDIT = "audit:read"


async def _target(uow: UserUnitOfWork, user_id: UUID) -> User:
    user = await uow.users.get(user_id)
    if user is None:
        raise UserNotFound(user_id)
    return user


def _guard_super_admin(caller: Caller, target: User) -> None:
    """Only a super admin may act on super admins (no escalation by admins)."""
    if SUPER_ADMIN in target.roles and SUPER_ADMIN not in caller.roles:
        raise PermissionDenied("Only a super admin may change a super admin")


async def list_users(
    command: ListUsers, uow: UserUnitOfWork, caller: Caller, deps: Dependencies
) -> Page[UserView]:
    """Accounts matching the search, newest first, one page at a time."""
    caller.require_permission(READ_USERS)
    criteria = UserFilter(q=command.q.strip(), role=command.role, status=command.status)
    request = PageRequest.decode(
        deps.pages,
        command.page_token,
        command.page_size,
        {"q": criteria.q.lower(), "role": criteria.role, "status": criteria.status},
    )
    async with uow:
        users = await uow.users.search(criteria, request.after, request.size + 1)
        total = await uow.users.count(criteria)
        catalogue = await uow.roles.catalogue()
    page = request.page(deps.pages, users, total, lambda user: (user.created_at, user.id))
    return Page(
        items=[UserView(user, catalogue.permissions_for(user.roles)) for user in page.items],
        page_size=page.page_size,
        next_page_token=page.next_page_token,
        total_size=page.total_size,
    )


async def get_user(user_id: UUID, uow: UserUnitOfWork, caller: Caller) -> UserView:
    """One account, in any status."""
    caller.require_permission(READ_USERS)
    async with uow:
        return await view_of(uow, await _target(uow, user_id))


async def update_user(
    command: UpdateUser, uow: UserUnitOfWork, caller: Caller, deps: Dependencies
) -> UserView:
    """Edit another account's profile and/or suspend or reactivate it."""
    admin_id = caller.require_permission(MANAGE_USERS)
    now = deps.clock()
    revoked = []
    async with uow:
        user = await _target(uow, command.user_id)
        check_version(user, command.expected_version)
        changed = user.update_profile(command.changes, actor=admin_id, now=now)
        version = user.version
        if changed:
            await audit(
                uow,
                AuditType.USER_PROFILE_UPDATED,
                now,
                command.client,
                user_id=user.id,
                caller=caller,
                details={"fields": ",".join(changed)},
            )
        if command.status is UserStatus.SUSPENDED and user.status is UserStatus.ACTIVE:
            if user.id == admin_id:
                raise PermissionDenied("You cannot suspend your own account")
            _guard_super_admin(caller, user)
            await ensure_other_super_admin(uow, user)
            user.suspend(actor=admin_id, reason=command.status_reason, now=now)
            revoked = revoke_all(
                await uow.sessions.live_for_user(user.id, now), RevocationReason.USER_SUSPENDED, now
            )
            await uow.sessions.save_revocations(revoked)
            await audit(
                uow,
                AuditType.USER_SUSPENDED,
                now,
                command.client,
                user_id=user.id,
                caller=caller,
                details={"reason": command.status_reason, "revokedSessions": str(len(revoked))},
            )
        elif command.status is UserStatus.ACTIVE and user.reactivate(actor=admin_id, now=now):
            await audit(
                uow,
                AuditType.USER_REACTIVATED,
                now,
                command.client,
                user_id=user.id,
                caller=caller,
                details={"reason": command.status_reason},
            )
        if changed or user.version != version:
            await uow.users.save(user)
        view = await view_of(uow, user)
        await uow.commit()
    await revoke_sessions_now(deps, [s.id for s in revoked])
    return view


async def grant_role(
    command: ChangeRole, uow: UserUnitOfWork, caller: Caller, deps: Dependencies
) -> UserView:
    """Give an account a role of the catalogue."""
    admin_id = caller.require_permission(MANAGE_ROLES)
    if command.role == SUPER_ADMIN and SUPER_ADMIN not in caller.roles:
        raise PermissionDenied("Only a super admin may grant super_admin")
    now = deps.clock()
    async with uow:
        if command.role not in await uow.roles.catalogue():
            raise RoleNotFound(command.role)
        user = await _target(uow, command.user_id)
        if user.grant_role(command.role, actor=admin_id, now=now):
            await uow.users.save(user)
            await audit(
                uow,
                AuditType.ROLE_GRANTED,
                now,
                command.client,
                user_id=user.id,
                caller=caller,
                details={"role": command.role},
            )
        view = await view_of(uow, user)
        await uow.commit()
    return view


async def revoke_role(
    command: ChangeRole, uow: UserUnitOfWork, caller: Caller, deps: Dependencies
) -> None:
    """Take a role from an account (idempotent); the last active super admin keeps theirs."""
    admin_id = caller.require_permission(MANAGE_ROLES)
    if command.role == SUPER_ADMIN and SUPER_ADMIN not in caller.roles:
        raise PermissionDenied("Only a super admin may revoke super_admin")
    now = deps.clock()
    async with uow:
        if command.role not in await uow.roles.catalogue():
            raise RoleNotFound(command.role)
        user = await _target(uow, command.user_id)
        if command.role == SUPER_ADMIN:
            await ensure_other_super_admin(uow, user)
        if not user.revoke_role(command.role, actor=admin_id, now=now):
            return
        await uow.users.save(user)
        await audit(
            uow,
            AuditType.ROLE_REVOKED,
            now,
            command.client,
            user_id=user.id,
            caller=caller,
            details={"role": command.role},
        )
        await uow.commit()
    # Tokens issued before now carry the revoked permissions; a refresh gets the new ones.
    await revoke_user_tokens_now(deps, user.id, now.timestamp())


async def list_audit_events(
    command: ListAuditEvents, uow: UserUnitOfWork, caller: Caller, deps: Dependencies
) -> Page[AuditEntry]:
    """The audit trail, filtered, newest first."""
    caller.require_permission(READ_AUDIT)
    criteria = AuditFilter(
        user_id=command.user_id,
        type=command.type.strip(),
        occurred_from=command.occurred_from,
        occurred_to=command.occurred_to,
    )
    request = PageRequest.decode(
        deps.pages,
        command.page_token,
        command.page_size,
        {
            "userId": criteria.user_id,
            "type": criteria.type,
            "from": criteria.occurred_from,
            "to": criteria.occurred_to,
        },
    )
    async with uow:
        entries = await uow.audit.search(criteria, request.after, request.size + 1)
        total = await uow.audit.count(criteria)
    return request.page(deps.pages, entries, total, lambda entry: (entry.occurred_at, entry.id))
