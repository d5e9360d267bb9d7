"""Domain events raised by accounts and sessions (published through the outbox)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from kernel.domain import DomainEvent


@dataclass(frozen=True, kw_only=True)
class UserRegistered(DomainEvent):
    """A new account exists."""

    user_id: UUID
    email: str
    display_name: str
    roles: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class UserProfileUpdated(DomainEvent):
    """The public profile changed (other services replicate it)."""

    user_id: UUID
    full_name: str
    display_name: str
    username: str
    avatar_url: str
    bio: str


@dataclass(frozen=True, kw_only=True)
class UserRoleGranted(DomainEvent):
    """A role was added to an account."""

    user_id: UUID
    role: str
    granted_by: UUID | None


@dataclass(frozen=True, kw_only=True)
class UserRoleRevoked(DomainEvent):
    """A role was taken from an account; tokens issued before carry stale permissions."""

    user_id: UUID
    role: str
    revoked_by: UUID | None


@dataclass(frozen=True, kw_only=True)
class UserSuspended(DomainEvent):
    """An admin suspended the account: every token of the user is refused."""

    user_id: UUID
    reason: str
    suspended_by: UUID | None


@dataclass(frozen=True, kw_only=True)
class UserDeleted(DomainEvent):
    """The owner deactivated the account; it was anonymised."""

    user_id: UUID


@dataclass(frozen=True, kw_only=True)
class UserLoggedIn(DomainEvent):
    """A session started (login or registration)."""

    user_id: UUID
    session_id: UUID


@dataclass(frozen=True, kw_only=True)
class SessionRevoked(DomainEvent):
    """A session ended before its expiry; its access tokens must be refused everywhere."""

    user_id: UUID
    session_id: UUID
    reason: str
