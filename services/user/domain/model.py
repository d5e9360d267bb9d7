"""Accounts, sessions, tokens, roles and audit entries. No I/O here."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID, uuid4

from kernel.clock import utc_now
from kernel.domain import Aggregate
from kernel.errors import FieldViolation, PreconditionFailed, ValidationFailed
from services.user.domain.events import (
    SessionRevoked,
    UserDeleted,
    UserLoggedIn,
    UserProfileUpdated,
    UserRegistered,
    UserRoleGranted,
    UserRoleRevoked,
    UserSuspended,
)

SUPER_ADMIN = "super_admin"
INSTRUCTOR = "instructor"
DEFAULT_ROLE = "student"
SESSION_LIFETIME = timedelta(days=30)  # refresh tokens live as long; each rotation extends
RESET_TOKEN_LIFETIME = timedelta(minutes=30)
DELETED_NAME = "Deleted user"


class UserStatus(StrEnum):
    """Account lifecycle: active <-> suspended (admin); deactivated (owner) is final."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    DEACTIVATED = "deactivated"


class RevocationReason(StrEnum):
    """Why a session ended early (carried by session.revoked)."""

    LOGOUT = "logout"
    REVOKED_BY_USER = "revoked_by_user"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a name, not a secret
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a name, not a secret
    REFRESH_TOKEN_REUSE = "refresh_token_reuse"  # noqa: S105 - a name, not a secret
    USER_SUSPENDED = "user_suspended"
    USER_DELETED = "user_deleted"


class AuditType(StrEnum):
    """Kinds of entries of the security audit trail."""

    LOGIN_SUCCEEDED = "login.succeeded"
    LOGIN_FAILED = "login.failed"
    LOGIN_THROTTLED = "login.throttled"
    LOGOUT = "logout"
    REFRESH_TOKEN_REUSED = "refresh_token.reused"  # noqa: S105 - a name, not a secret
    SESSION_REVOKED = "session.revoked"
    PASSWORD_CHANGED = "password.changed"  # noqa: S105 - a name, not a secret
    PASSWORD_RESET_REQUESTED = "password.reset_requested"  # noqa: S105 - a name, not a secret
    PASSWORD_RESET = "password.reset"  # noqa: S105 - a name, not a secret
    ROLE_GRANTED = "role.granted"
    ROLE_REVOKED = "role.revoked"
    USER_REGISTERED = "user.registered"
    USER_SUSPENDED = "user.suspended"
    USER_REACTIVATED = "user.reactivated"
    USER_PROFILE_UPDATED = "user.profile_updated"
    USER_DELETED = "user.deleted"


class AccountDeactivated(PreconditionFailed):
    """A deactivated account cannot change any more."""

    reason = "INVALID_STATE_TRANSITION"

    def __init__(self) -> None:
        super().__init__("The account is deactivated")


def normalize_email(email: str) -> str:
    """The form emails are compared in: trimmed and lowercased."""
    return email.strip().lower()


def new_opaque_token() -> tuple[str, str]:
    """A 256-bit random token for the client and the digest we store instead of it."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    """SHA-256 hex digest of an opaque token (a fast hash suffices for 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from, as far as the gateway tells."""

    ip_address: str = ""
    user_agent: str = ""


UNKNOWN_CLIENT = ClientInfo()


@dataclass(frozen=True)
class ProfileChanges:
    """Profile fields to set; None leaves a field as it is."""

    full_name: str | None = None
    display_name: str | None = None
    username: str | None = None
    avatar_url: str | None = None
    bio: str | None = None
    timezone: str | None = None
    language: str | None = None


# ProfileChanges field -> lowerCamelCase name in requests and violations.
_PROFILE_JSON_NAMES = {
    "full_name": "fullName",
    "display_name": "displayName",
    "username": "username",
    "avatar_url": "avatarUrl",
    "bio": "bio",
    "timezone": "timezone",
    "language": "language",
}


@dataclass(eq=False, kw_only=True)
class User(Aggregate):
    """An account: profile, status and roles. Credentials are kept apart (never mapped out)."""

    aggregate_type = "user"

    id: UUID
    email: str
    full_name: str
    display_name: str
    username: str | None = None
    avatar_url: str = ""
    bio: str = ""
    timezone: str = "UTC"
    language: str = "en"
    status: UserStatus = UserStatus.ACTIVE
    email_verified: bool = False
    roles: set[str] = field(default_factory=set)
    last_login_at: datetime | None = None
    version: int = 1
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)
    created_by: UUID | None = None
    updated_by: UUID | None = None
    deleted_at: datetime | None = None
    deleted_by: UUID | None = None

    @property
    def email_normalized(self) -> str:
        """The unique, case-insensitive form of the email."""
        return normalize_email(self.email)

    @property
    def username_normalized(self) -> str | None:
        """The unique, case-insensitive form of the username."""
        return self.username.lower() if self.username else None

    @property
    def is_active(self) -> bool:
        """Only active accounts sign in, refresh and act."""
        return self.status is UserStatus.ACTIVE

    @classmethod
    def register(
        cls,
        *,
        email: str,
        full_name: str,
        roles: Iterable[str] = (DEFAULT_ROLE,),
        created_by: UUID | None = None,
        now: datetime | None = None,
    ) -> User:
        """A new active account; raises ValidationFailed for a blank name."""
        name = full_name.strip()
        if not name:
            raise ValidationFailed([FieldViolation("fullName", "must not be empty")])
        moment = now or utc_now()
        user = cls(
            id=uuid4(),
            email=email.strip(),
            full_name=name,
            display_name=name,
            roles=set(roles),
            created_at=moment,
            updated_at=moment,
        )
        user.created_by = created_by or user.id
        user.updated_by = user.created_by
        user.record(
            UserRegistered(
                user_id=user.id,
                email=user.email,
                display_name=user.display_name,
                roles=tuple(sorted(user.roles)),
            )
        )
        return user

    def _require_not_deactivated(self) -> None:
        if self.status is UserStatus.DEACTIVATED:
            raise AccountDeactivated()

    def _touch(self, actor: UUID | None, now: datetime) -> None:
        self.version += 1
        self.updated_at = now
        self.updated_by = actor

    def update_profile(self, changes: ProfileChanges, *, actor: UUID, now: datetime) -> list[str]:
        """Apply the given fields; returns the names (lowerCamelCase) of those that changed."""
        self._require_not_deactivated()
        violations = [
            FieldViolation(_PROFILE_JSON_NAMES[name], "must not be empty")
            for name in ("full_name", "display_name")
            if (value := getattr(changes, name)) is not None and not value.strip()
        ]
        if violations:
            raise ValidationFailed(violations)
        changed = []
        for item in fields(changes):
            value = getattr(changes, item.name)
            if value is None:
                continue
            value = value.strip()
            if item.name == "username":
                value = value or None
            if getattr(self, item.name) != value:
                setattr(self, item.name, value)
                changed.append(_PROFILE_JSON_NAMES[item.name])
        if changed:
            self._touch(actor, now)
            self.record(
                UserProfileUpdated(
                    user_id=self.id,
                    full_name=self.full_name,
                    display_name=self.display_name,
                    username=self.username or "",
                    avatar_url=self.avatar_url,
                    bio=self.bio,
                )
            )
        return changed

    def logged_in(self, session_id: UUID, now: datetime) -> None:
        """A session started. Not a profile change, so the version stays."""
        self.last_login_at = now
        self.record(UserLoggedIn(user_id=self.id, session_id=session_id))

    def suspend(self, *, actor: UUID, reason: str, now: datetime) -> bool:
        """Suspend an active account; False when it already was."""
        self._require_not_deactivated()
        if self.status is UserStatus.SUSPENDED:
            return False
        self.status = UserStatus.SUSPENDED
        self._touch(actor, now)
        self.record(UserSuspended(user_id=self.id, reason=reason, suspended_by=actor))
        return True

    def reactivate(self, *, actor: UUID, now: datetime) -> bool:
        """Lift a suspension; False when the account was active."""
        self._require_not_deactivated()
        if self.status is UserStatus.ACTIVE:
            return False
        self.status = UserStatus.ACTIVE
        self._touch(actor, now)
        return True

    def deactivate(self, now: datetime) -> None:
        """The owner leaves: anonymise the profile and free the email and username."""
        self._require_not_deactivated()
        self.status = UserStatus.DEACTIVATED
        self.email = f"deleted-{self.id}@deleted.invalid"
        self.username = None
        self.full_name = DELETED_NAME
        self.display_name = DELETED_NAME
        self.avatar_url = ""
        self.bio = ""
        self.deleted_at = now
        self.deleted_by = self.id
        self._touch(self.id, now)
        self.record(UserDeleted(user_id=self.id))

    def grant_role(self, role: str, *, actor: UUID, now: datetime) -> bool:
        """Add a role; False when the user already had it."""
        self._require_not_deactivated()
        if role in self.roles:
            return False
        self.roles.add(role)
        self._touch(actor, now)
        self.record(UserRoleGranted(user_id=self.id, role=role, granted_by=actor))
        return True

    def revoke_role(self, role: str, *, actor: UUID, now: datetime) -> bool:
        """Remove a role; False when the user did not have it."""
        if role not in self.roles:
            return False
        self.roles.discard(role)
        self._touch(actor, now)
        self.record(UserRoleRevoked(user_id=self.id, role=role, revoked_by=actor))
        return True


@dataclass(eq=False, kw_only=True)
class Session(Aggregate):
    """One signed-in device; its refresh tokens form one rotation family."""

    aggregate_type = "session"

    id: UUID
    user_id: UUID
    user_agent: str
    ip_address: str
    created_at: datetime
    last_active_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_reason: str | None = None

    @classmethod
    def start(cls, user_id: UUID, client: ClientInfo, now: datetime) -> Session:
        """A new session for a successful login or registration."""
        return cls(
            id=uuid4(),
            user_id=user_id,
            user_agent=client.user_agent[:512],
            ip_address=client.ip_address[:64],
            created_at=now,
            last_active_at=now,
            expires_at=now + SESSION_LIFETIME,
        )

    def is_live(self, now: datetime) -> bool:
        """Neither revoked nor expired."""
        return self.revoked_at is None and self.expires_at > now

    def extend(self, now: datetime) -> None:
        """The refresh token was rotated: the session is active and lives on."""
        self.last_active_at = now
        self.expires_at = now + SESSION_LIFETIME

    def revoke(self, reason: RevocationReason, now: datetime) -> bool:
        """End the session; False when it had already ended."""
        if self.revoked_at is not None:
            return False
        self.revoked_at = now
        self.revoked_reason = reason.value
        self.record(SessionRevoked(user_id=self.user_id, session_id=self.id, reason=reason.value))
        return True


@dataclass
class RefreshToken:
    """A stored refresh token: only its digest; `rotated_at` is set once it was exchanged."""

    id: UUID
    session_id: UUID
    token_hash: str
    created_at: datetime
    expires_at: datetime
    rotated_at: datetime | None = None

    @classmethod
    def issue(cls, session: Session, now: datetime) -> tuple[RefreshToken, str]:
        """A new token of the session's family and its plaintext (returned to the client once)."""
        plaintext, digest = new_opaque_token()
        token = cls(
            id=uuid4(),
            session_id=session.id,
            token_hash=digest,
            created_at=now,
            expires_at=session.expires_at,
        )
        return token, plaintext


@dataclass
class PasswordResetToken:
    """A single-use password-reset token (digest only), valid 30 minutes."""

    id: UUID
    user_id: UUID
    token_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    @classmethod
    def issue(cls, user_id: UUID, now: datetime) -> tuple[PasswordResetToken, str]:
        """A new token and its plaintext (delivered to the user, never stored)."""
        plaintext, digest = new_opaque_token()
        token = cls(
            id=uuid4(),
            user_id=user_id,
            token_hash=digest,
            created_at=now,
            expires_at=now + RESET_TOKEN_LIFETIME,
        )
        return token, plaintext

    def usable(self, now: datetime) -> bool:
        """Not used and not expired."""
        return self.used_at is None and self.expires_at > now


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    """One entry of the security audit trail."""

    type: AuditType
    occurred_at: datetime
    user_id: UUID | None = None
    actor_id: UUID | None = None
    session_id: UUID | None = None
    client: ClientInfo = UNKNOWN_CLIENT
    details: Mapping[str, str] = field(default_factory=dict)
    id: UUID = field(default_factory=uuid4)


@dataclass(frozen=True)
class RoleDefinition:
    """A role of the catalogue and the permissions it grants."""

    name: str
    description: str
    permissions: frozenset[str]


@dataclass(frozen=True)
class RoleCatalogue:
    """Every role by name (seeded by migration)."""

    roles: Mapping[str, RoleDefinition]

    def __contains__(self, role: object) -> bool:
        return role in self.roles

    def permissions_for(self, roles: Iterable[str]) -> frozenset[str]:
        """Effective permissions: the union over the given roles."""
        granted: set[str] = set()
        for role in roles:
            definition = self.roles.get(role)
            if definition is not None:
                granted |= definition.permissions
        return frozenset(granted)


@dataclass(frozen=True)
class UserView:
    """An account with its effective permissions, as handlers return it."""

    user: User
    permissions: frozenset[str]


@dataclass(frozen=True)
class InstructorStats:
    """An instructor's published teaching, as replicated from the course service's events."""

    published_courses: int = 0
    total_students: int = 0
    rating_average: float = 0.0
    rating_count: int = 0
