"""Inputs of the user service's use cases, free of protobuf."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from services.user.domain.model import UNKNOWN_CLIENT, ClientInfo, ProfileChanges, UserStatus


@dataclass(frozen=True)
class Register:
    """Create an account and sign it in."""

    email: str
    password: str
    full_name: str
    client: ClientInfo = UNKNOWN_CLIENT


@dataclass(frozen=True)
class Login:
    """Exchange credentials for tokens."""

    email: str
    password: str
    client: ClientInfo = UNKNOWN_CLIENT


@dataclass(frozen=True)
class Refresh:
    """Rotate a refresh token."""

    refresh_token: str
    client: ClientInfo = UNKNOWN_CLIENT


@dataclass(frozen=True)
class SessionCommand:
    """Logout, listing sessions or revoking the others: only the caller and the client."""

    client: ClientInfo = UNKNOWN_CLIENT


@dataclass(frozen=True)
class RevokeSession:
    """End one of the caller's sessions."""

    session_id: UUID
    client: ClientInfo = UNKNOWN_CLIENT


@dataclass(frozen=True)
class ChangePassword:
    """Set a new password, proving the current one."""

    current_password: str
    new_password: str
    client: ClientInfo = UNKNOWN_CLIENT


@dataclass(frozen=True)
class RequestPasswordReset:
    """Send a reset token to the account with this email, if any."""

    email: str
    client: ClientInfo = UNKNOWN_CLIENT


@dataclass(frozen=True)
class ResetPassword:
    """Set a new password with a reset token."""

    token: str
    new_password: str
    client: ClientInfo = UNKNOWN_CLIENT


@dataclass(frozen=True)
class UpdateProfile:
    """Change the caller's own profile (`UpdateMe`)."""

    changes: ProfileChanges
    expected_version: int | None = None
    client: ClientInfo = UNKNOWN_CLIENT


@dataclass(frozen=True)
class ListUsers:
    """Admin search; `page_token` continues a previous page of the same filter."""

    q: str = ""
    role: str | None = None
    status: UserStatus | None = None
    page_size: int = 0
    page_token: str = ""


@dataclass(frozen=True)
class UpdateUser:
    """Admin change of another account: profile fields and/or status."""

    user_id: UUID
    changes: ProfileChanges = field(default_factory=ProfileChanges)
    status: UserStatus | None = None
    status_reason: str = ""
    expected_version: int | None = None
    client: ClientInfo = UNKNOWN_CLIENT


@dataclass(frozen=True)
class ChangeRole:
    """Grant or revoke one role."""

    user_id: UUID
    role: str
    client: ClientInfo = UNKNOWN_CLIENT


@dataclass(frozen=True)
class ListAuditEvents:
    """Admin query of the audit trail; `occurred_from` inclusive, `occurred_to` exclusive."""

    user_id: UUID | None = None
    type: str = ""
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    page_size: int = 0
    page_token: str = ""


@dataclass(frozen=True)
class CreateAdmin:
    """Create an administrator account, or give an existing account the role (CLI, seeding)."""

    email: str
    password: str
    role: str
    full_name: str = "Administrator"
