"""Helpers shared by the use cases: views, audit entries, revocation, versions, page tokens."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from kernel.errors import Conflict
from kernel.pagination import InvalidPageToken, PageTokenCodec, clamp_page_size
from kernel.security import Caller
from services.user.domain.errors import LastSuperAdmin
from services.user.domain.model import (
    SUPER_ADMIN,
    AuditEntry,
    AuditType,
    ClientInfo,
    RevocationReason,
    Session,
    User,
    UserView,
)
from services.user.service_layer.ports import Dependencies
from services.user.service_layer.unit_of_work import Cursor, UserUnitOfWork

_log = logging.getLogger(__name__)
T = TypeVar("T")


async def view_of(uow: UserUnitOfWork, user: User) -> UserView:
    """The account with its effective permissions (one catalogue query)."""
    catalogue = await uow.roles.catalogue()
    return UserView(user=user, permissions=catalogue.permissions_for(user.roles))


async def audit(
    uow: UserUnitOfWork,
    kind: AuditType,
    now: datetime,
    client: ClientInfo,
    *,
    user_id: UUID | None,
    caller: Caller | None = None,
    session_id: UUID | None = None,
    details: Mapping[str, str] | None = None,
) -> None:
    """Append to the audit trail; the caller is the actor when acting on someone else."""
    actor = caller.user_id if caller is not None else None
    await uow.audit.add(
        AuditEntry(
            type=kind,
            occurred_at=now,
            user_id=user_id,
            actor_id=actor if actor != user_id else None,
            session_id=session_id or (caller.session_id if caller is not None else None),
            client=client,
            details=dict(details or {}),
        )
    )


def check_version(user: User, expected: int | None) -> None:
    """VERSION_CONFLICT when the client edited a version that is no longer current."""
    if expected is not None and expected != user.version:
        raise Conflict(f"The account changed meanwhile (version {user.version}); reload it")


async def ensure_other_super_admin(uow: UserUnitOfWork, user: User) -> None:
    """LAST_SUPER_ADMIN when `user` is the only active super admin left."""
    if SUPER_ADMIN in user.roles and user.is_active:
        others = await uow.users.active_super_admins() - {user.id}
        if not others:
            raise LastSuperAdmin()


async def revoke_sessions_now(deps: Dependencies, session_ids: Iterable[UUID]) -> None:
    """Refuse the sessions' access tokens in this process at once (everywhere with Redis).

    Runs after the commit; other processes learn it from the session.revoked events, so a
    failure here is logged rather than reported to a client whose change did happen.
    """
    for session_id in session_ids:
        try:
            await deps.revocations.revoke_session(str(session_id))
        except Exception:
            _log.warning("could not record a session revocation", exc_info=True)


async def revoke_user_tokens_now(deps: Dependencies, user_id: UUID, moment: float) -> None:
    """Refuse the user's tokens issued before `moment` (see `revoke_sessions_now`)."""
    try:
        await deps.revocations.revoke_user_before(str(user_id), moment)
    except Exception:
        _log.warning("could not record a user revocation", exc_info=True)


def revoke_all(
    sessions: Iterable[Session], reason: RevocationReason, now: datetime
) -> list[Session]:
    """Revoke every given session; returns those that were live until now."""
    return [session for session in sessions if session.revoke(reason, now)]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a newest-first list and the token of the next one."""

    items: list[T]
    page_size: int
    next_page_token: str
    total_size: int


@dataclass(frozen=True)
class PageRequest:
    """A decoded page request: size, cursor and the filter the token is bound to."""

    size: int
    after: Cursor | None
    filters: dict[str, Any]

    @classmethod
    def decode(
        cls, codec: PageTokenCodec, token: str, size: int, filters: dict[str, Any]
    ) -> PageRequest:
        """Check the token against the filter; INVALID_PAGE_TOKEN when it does not belong."""
        key = codec.decode(token, filters)
        after = None
        if key is not None:
            try:
                after = (datetime.fromisoformat(str(key[0])), UUID(str(key[1])))
            except (ValueError, IndexError):
                raise InvalidPageToken() from None
        return cls(size=clamp_page_size(size), after=after, filters=filters)

    def page(
        self,
        codec: PageTokenCodec,
        rows: list[T],
        total: int,
        key: Callable[[T], tuple[datetime, UUID]],
    ) -> Page[T]:
        """The page of `rows` (fetched with one extra row to know whether more follow)."""
        items = rows[: self.size]
        token = ""
        if len(rows) > self.size:
            moment, item_id = key(items[-1])
            token = codec.encode([moment.isoformat(), str(item_id)], self.filters)
        return Page(items=items, page_size=self.size, next_page_token=token, total_size=total)
