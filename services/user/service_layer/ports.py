"""What the use cases need besides the Unit of Work, as small protocols wired by bootstrap."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from kernel.clock import utc_now
from kernel.pagination import PageTokenCodec
from services.user.domain.passwords import PasswordPolicy
from services.user.domain.throttling import LoginLimits


class PasswordHasher(Protocol):
    """Argon2id in production; slow by design, so it runs off the event loop."""

    async def hash(self, password: str) -> str:
        """A new salted hash of `password`."""
        ...

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when `password` matches; with no hash, spends the same time and answers False."""
        ...

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the current ones."""
        ...


@dataclass(frozen=True)
class AccessToken:
    """A signed access token and its lifetime in seconds."""

    token: str
    expires_in: int


class AccessTokenIssuer(Protocol):
    """Signs access tokens in the format `kernel.auth` verifies."""

    def issue(
        self,
        *,
        user_id: UUID,
        session_id: UUID,
        roles: Iterable[str],
        permissions: Iterable[str],
    ) -> AccessToken:
        """A token for this session with these roles and effective permissions."""
        ...


class ResetNotifier(Protocol):
    """Delivers password-reset tokens (email in production, the log in development)."""

    async def password_reset_requested(
        self, *, email: str, token: str, expires_at: datetime
    ) -> None:
        """Tell the account holder how to reset their password."""
        ...


class Revocations(Protocol):
    """The revocation store of this process (Redis when configured: every service at once)."""

    async def revoke_session(self, session_id: str) -> None:
        """Refuse every token of this session."""
        ...

    async def revoke_user_before(self, user_id: str, moment: float) -> None:
        """Refuse this user's tokens issued before `moment` (epoch seconds)."""
        ...


@dataclass
class Dependencies:
    """Everything handlers use besides the Unit of Work and the caller."""

    passwords: PasswordHasher
    policy: PasswordPolicy
    tokens: AccessTokenIssuer
    notifier: ResetNotifier
    revocations: Revocations
    pages: PageTokenCodec
    limits: LoginLimits = field(default_factory=LoginLimits)
    clock: Callable[[], datetime] = utc_now
