"""The caller of an RPC as every service sees it, and helpers for authorization checks.

The server interceptor authenticates each call with the process's `Authenticator` and stores the
resulting `Caller` in a context variable; handlers read it with `current_caller()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

from kernel.errors import PermissionDenied, Unauthenticated


@dataclass(frozen=True)
class Caller:
    """Who is calling: anonymous, or a user with a session, roles and permissions."""

    user_id: UUID | None = None
    session_id: UUID | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    permissions: frozenset[str] = field(default_factory=frozenset)
    token_id: str | None = None

    @property
    def is_authenticated(self) -> bool:
        """True for a signed-in user."""
        return self.user_id is not None

    @property
    def is_admin(self) -> bool:
        """Admins may do everything an owner may."""
        return bool(self.roles & {"admin", "super_admin"})

    def require_user(self) -> UUID:
        """The caller's user id; raises UNAUTHENTICATED for anonymous callers."""
        if self.user_id is None:
            raise Unauthenticated("Sign in to do this")
        return self.user_id

    def has_permission(self, permission: str) -> bool:
        """True when one of the caller's roles grants `permission` (`resource:action`)."""
        return permission in self.permissions

    def require_permission(self, permission: str) -> UUID:
        """The caller's user id if they hold `permission` (else UNAUTHENTICATED or DENIED)."""
        user_id = self.require_user()
        if permission not in self.permissions:
            raise PermissionDenied(f"Missing permission {permission}")
        return user_id

    def require_owner_or_admin(self, owner_id: UUID | None) -> UUID:
        """The caller's user id if they own the resource or are an admin."""
        user_id = self.require_user()
        if owner_id != user_id and not self.is_admin:
            raise PermissionDenied("Only the owner or an admin may do this")
        return user_id


ANONYMOUS = Caller()

_caller: ContextVar[Caller] = ContextVar("unpuzzle_caller", default=ANONYMOUS)


def current_caller() -> Caller:
    """The caller of the RPC being handled (anonymous outside an RPC)."""
    return _caller.get()


def set_caller(caller: Caller) -> object:
    """Bind the caller for the current RPC; returns a token for `reset_caller`."""
    return _caller.set(caller)


def reset_caller(token: object) -> None:
    """Undo `set_caller`."""
    _caller.reset(token)  # type: ignore[arg-type]


class Authenticator(Protocol):
    """Turns call metadata (lowercase keys) into a Caller; Unauthenticated on a bad token."""

    async def authenticate(self, metadata: Mapping[str, str]) -> Caller:
        """Authenticate one call."""
        ...
