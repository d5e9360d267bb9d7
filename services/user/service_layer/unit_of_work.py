"""The user service's Unit of Work contract and the repository interfaces it exposes."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from kernel.uow import AbstractUnitOfWork, TrackingRepository
from services.user.domain.model import (
    AuditEntry,
    InstructorStats,
    PasswordResetToken,
    RefreshToken,
    RoleCatalogue,
    Session,
    User,
    UserStatus,
)
from services.user.domain.throttling import ThrottleState

# Keyset position in a newest-first list: (timestamp, id) of the last item of the previous page.
Cursor = tuple[datetime, UUID]


@dataclass(frozen=True)
class UserFilter:
    """Admin search criteria; empty values do not filter."""

    q: str = ""
    role: str | None = None
    status: UserStatus | None = None


@dataclass(frozen=True)
class AuditFilter:
    """Audit trail criteria; empty values do not filter."""

    user_id: UUID | None = None
    type: str = ""
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


class UserRepository(TrackingRepository, abc.ABC):
    """Accounts with their roles (one aggregate) and their password hash (kept apart)."""

    @abc.abstractmethod
    async def add(self, user: User, password_hash: str | None) -> None:
        """Insert an account; EmailAlreadyRegistered or UsernameTaken on a duplicate."""

    @abc.abstractmethod
    async def get(self, user_id: UUID) -> User | None:
        """The account with this id, in any status."""

    @abc.abstractmethod
    async def get_by_email(self, email_normalized: str) -> User | None:
        """The account with this (normalised) email."""

    @abc.abstractmethod
    async def save(self, user: User) -> None:
        """Write a changed account; VERSION_CONFLICT if someone else wrote it meanwhile."""

    @abc.abstractmethod
    async def password_hash(self, user_id: UUID) -> str | None:
        """The stored password hash (None for accounts without a password)."""

    @abc.abstractmethod
    async def set_password_hash(self, user_id: UUID, password_hash: str, now: datetime) -> None:
        """Store a new password hash."""

    @abc.abstractmethod
    async def remove_password(self, user_id: UUID) -> None:
        """Delete the credentials: the account can no longer sign in."""

    @abc.abstractmethod
    async def search(self, criteria: UserFilter, after: Cursor | None, limit: int) -> list[User]:
        """Newest first, after the cursor."""

    @abc.abstractmethod
    async def count(self, criteria: UserFilter) -> int:
        """How many accounts match."""

    @abc.abstractmethod
    async def active_super_admins(self) -> set[UUID]:
        """Ids of active super admins, locked against concurrent role or status changes."""


class SessionRepository(TrackingRepository, abc.ABC):
    """Sessions (aggregates raising session.revoked) and their refresh-token families."""

    @abc.abstractmethod
    async def add(self, session: Session) -> None:
        """Insert a new session."""

    @abc.abstractmethod
    async def get(self, session_id: UUID) -> Session | None:
        """The session with this id, live or not."""

    @abc.abstractmethod
    async def live_for_user(self, user_id: UUID, now: datetime) -> list[Session]:
        """The user's sessions that are neither revoked nor expired, newest first."""

    @abc.abstractmethod
    async def save(self, session: Session) -> None:
        """Write activity, expiry and revocation of one session."""

    @abc.abstractmethod
    async def save_revocations(self, sessions: Sequence[Session]) -> None:
        """Write the revocation of several sessions (revoked together: same time and reason)."""

    @abc.abstractmethod
    async def add_refresh_token(self, token: RefreshToken) -> None:
        """Insert a refresh token."""

    @abc.abstractmethod
    async def refresh_token_by_hash(self, token_hash: str) -> RefreshToken | None:
        """The refresh token with this digest."""

    @abc.abstractmethod
    async def mark_rotated(self, token_id: UUID, now: datetime) -> bool:
        """Mark the token used, atomically; False when it already was (a reuse)."""


class ResetTokenRepository(abc.ABC):
    """Password-reset tokens."""

    @abc.abstractmethod
    async def add(self, token: PasswordResetToken) -> None:
        """Insert a token."""

    @abc.abstractmethod
    async def by_hash(self, token_hash: str) -> PasswordResetToken | None:
        """The token with this digest."""

    @abc.abstractmethod
    async def consume(self, token_id: UUID, now: datetime) -> bool:
        """Mark the token used, atomically; False when it was used or expired meanwhile."""

    @abc.abstractmethod
    async def invalidate_for_user(self, user_id: UUID, now: datetime) -> None:
        """Make every unused token of the user unusable."""


class RoleRepository(abc.ABC):
    """The role catalogue (seeded by migration)."""

    @abc.abstractmethod
    async def catalogue(self) -> RoleCatalogue:
        """Every role with its permissions."""


class TeachingRepository(abc.ABC):
    """Per course: its instructor, whether it is published, its enrolments and rating (a replica
    of the course service's facts, for instructor stats on public profiles)."""

    @abc.abstractmethod
    async def course_created(self, course_id: UUID, instructor_id: UUID) -> None:
        """Start tracking a course (idempotent)."""

    @abc.abstractmethod
    async def set_published(self, course_id: UUID, published: bool) -> None:
        """The course was published, or left the catalogue (unpublished, archived, deleted)."""

    @abc.abstractmethod
    async def add_students(self, course_id: UUID, delta: int) -> None:
        """An enrolment was created (+1) or cancelled (-1)."""

    @abc.abstractmethod
    async def set_rating(self, course_id: UUID, average: float, count: int) -> None:
        """The course's review aggregates after a review change."""

    @abc.abstractmethod
    async def stats(self, instructor_id: UUID) -> InstructorStats:
        """Totals over the instructor's published courses."""


class AuditLog(abc.ABC):
    """The security audit trail: append and query."""

    @abc.abstractmethod
    async def add(self, entry: AuditEntry) -> None:
        """Append an entry."""

    @abc.abstractmethod
    async def search(
        self, criteria: AuditFilter, after: Cursor | None, limit: int
    ) -> list[AuditEntry]:
        """Newest first, after the cursor."""

    @abc.abstractmethod
    async def count(self, criteria: AuditFilter) -> int:
        """How many entries match."""


class ThrottleRepository(abc.ABC):
    """Login-throttle state by key."""

    @abc.abstractmethod
    async def get(self, keys: Iterable[str]) -> dict[str, ThrottleState]:
        """The state of each key that has one."""

    @abc.abstractmethod
    async def save(self, states: Sequence[ThrottleState]) -> None:
        """Insert or update these states."""

    @abc.abstractmethod
    async def clear(self, key: str) -> None:
        """Forget a key's failures (after a successful login)."""


class UserUnitOfWork(AbstractUnitOfWork):
    """What handlers get: repositories plus commit/rollback."""

    users: UserRepository
    sessions: SessionRepository
    reset_tokens: ResetTokenRepository
    roles: RoleRepository
    audit: AuditLog
    throttles: ThrottleRepository
    teaching: TeachingRepository

    def repositories(self) -> Iterable[TrackingRepository]:
        """Repositories whose aggregates raise events."""
        return (self.users, self.sessions)
