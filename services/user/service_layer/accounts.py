"""The caller's own account, public profiles and the role catalogue."""

from __future__ import annotations

from uuid import UUID

from kernel.security import Caller
from services.user.domain.errors import UserNotFound
from services.user.domain.model import (
    INSTRUCTOR,
    AuditType,
    InstructorStats,
    RevocationReason,
    RoleDefinition,
    User,
    UserStatus,
    UserView,
)
from services.user.service_layer.commands import SessionCommand, UpdateProfile
from services.user.service_layer.ports import Dependencies
from services.user.service_layer.shared import (
    audit,
    check_version,
    ensure_other_super_admin,
    revoke_all,
    revoke_sessions_now,
    view_of,
)
from services.user.service_layer.unit_of_work import UserUnitOfWork


async def _own_account(uow: UserUnitOfWork, user_id: UUID) -> User:
    user = await uow.users.get(user_id)
    if user is None or user.status is UserStatus.DEACTIVATED:
        raise UserNotFound(user_id)
    return user


async def get_me(uow: UserUnitOfWork, caller: Caller) -> UserView:
    """The caller's account with roles and effective permissions."""
    user_id = caller.require_user()
    async with uow:
        return await view_of(uow, await _own_account(uow, user_id))


async def update_me(
    command: UpdateProfile, uow: UserUnitOfWork, caller: Caller, deps: Dependencies
) -> UserView:
    """Change the caller's profile fields (never roles, status or email)."""
    user_id = caller.require_user()
    now = deps.clock()
    async with uow:
        user = await _own_account(uow, user_id)
        check_version(user, command.expected_version)
        changed = user.update_profile(command.changes, actor=user_id, now=now)
        if changed:
            await uow.users.save(user)
            await audit(
                uow,
                AuditType.USER_PROFILE_UPDATED,
                now,
                command.client,
                user_id=user_id,
                caller=caller,
                details={"fields": ",".join(changed)},
            )
        view = await view_of(uow, user)
        await uow.commit()
    return view


async def delete_me(
    command: SessionCommand, uow: UserUnitOfWork, caller: Caller, deps: Dependencies
) -> None:
    """Deactivate and anonymise the caller's account, drop its password, end its sessions."""
    user_id = caller.require_user()
    now = deps.clock()
    async with uow:
        user = await _own_account(uow, user_id)
        await ensure_other_super_admin(uow, user)
        user.deactivate(now)
        await uow.users.save(user)
        await uow.users.remove_password(user_id)
        await uow.reset_tokens.invalidate_for_user(user_id, now)
        revoked = revoke_all(
            await uow.sessions.live_for_user(user_id, now), RevocationReason.USER_DELETED, now
        )
        await uow.sessions.save_revocations(revoked)
        await audit(
            uow, AuditType.USER_DELETED, now, command.client, user_id=user_id, caller=caller
        )
        await uow.commit()
    await revoke_sessions_now(deps, [s.id for s in revoked])


async def get_public_profile(
    user_id: UUID, uow: UserUnitOfWork
) -> tuple[User, InstructorStats | None]:
    """Anyone may see the public part of an account that was not deactivated; instructors come
    with the stats of their published teaching."""
    async with uow:
        user = await _own_account(uow, user_id)
        stats = await uow.teaching.stats(user.id) if INSTRUCTOR in user.roles else None
    return user, stats


async def list_roles(uow: UserUnitOfWork, caller: Caller) -> list[RoleDefinition]:
    """The role catalogue, by name."""
    caller.require_user()
    async with uow:
        catalogue = await uow.roles.catalogue()
    return [catalogue.roles[name] for name in sorted(catalogue.roles)]
