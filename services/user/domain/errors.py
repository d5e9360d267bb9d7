"""What can go wrong with accounts, sessions and credentials, named for the product."""

from __future__ import annotations

from collections.abc import Iterable

import grpc

from kernel.errors import (
    AlreadyExists,
    DomainError,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    ResourceExhausted,
    Unauthenticated,
)


class InvalidCredentials(Unauthenticated):
    """Unknown email or wrong password: deliberately the same answer for both."""

    reason = "INVALID_CREDENTIALS"

    def __init__(self) -> None:
        super().__init__("The email or the password is incorrect")


class AccountSuspended(PermissionDenied):
    """The password was right but an admin suspended the account."""

    reason = "ACCOUNT_SUSPENDED"

    def __init__(self) -> None:
        super().__init__("This account is suspended")


class TooManyLoginAttempts(ResourceExhausted):
    """Too many failed logins for this account or address; retry later."""

    reason = "TOO_MANY_LOGIN_ATTEMPTS"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            f"Too many failed sign-in attempts; try again in {retry_after_seconds} s",
            metadata={"retryAfterSeconds": str(retry_after_seconds)},
        )
        self.retry_after_seconds = retry_after_seconds


class RefreshTokenInvalid(Unauthenticated):
    """Unknown, expired, rotated or revoked refresh token: sign in again."""

    reason = "REFRESH_TOKEN_INVALID"

    def __init__(self) -> None:
        super().__init__("The refresh token is not valid; sign in again")


class ResetTokenInvalid(InvalidArgument):
    """Unknown, expired or already used password-reset token."""

    reason = "RESET_TOKEN_INVALID"

    def __init__(self) -> None:
        super().__init__("The password-reset link is invalid or has expired; request a new one")


class WeakPassword(DomainError):
    """The new password breaks the password policy; `violations` says how."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "WEAK_PASSWORD"

    def __init__(self, violations: Iterable[FieldViolation]) -> None:
        items = tuple(violations)
        summary = "; ".join(v.description for v in items)
        super().__init__(f"The password is too weak: {summary}", violations=items)


class WrongCurrentPassword(InvalidArgument):
    """Changing the password needs the current one (400, so clients do not sign the user out)."""

    reason = "INVALID_CREDENTIALS"

    def __init__(self) -> None:
        super().__init__(
            "The current password is incorrect",
            violations=[FieldViolation("currentPassword", "is incorrect")],
        )


class UserNotFound(NotFound):
    """No (visible) account has this id."""

    reason = "USER_NOT_FOUND"

    def __init__(self, user_id: object) -> None:
        super().__init__(f"User {user_id} not found")


class EmailAlreadyRegistered(AlreadyExists):
    """Another account uses this email (compared case-insensitively)."""

    reason = "EMAIL_ALREADY_REGISTERED"

    def __init__(self) -> None:
        super().__init__("This email is already registered")


class UsernameTaken(AlreadyExists):
    """Another account uses this username (compared case-insensitively)."""

    reason = "USERNAME_TAKEN"

    def __init__(self, username: str) -> None:
        super().__init__(f"The username {username} is taken")


class SessionNotFound(NotFound):
    """The caller has no live session with this id (other users' sessions look the same)."""

    reason = "SESSION_NOT_FOUND"

    def __init__(self, session_id: object) -> None:
        super().__init__(f"Session {session_id} not found")


class RoleNotFound(NotFound):
    """The role is not in the catalogue."""

    reason = "ROLE_NOT_FOUND"

    def __init__(self, role: str) -> None:
        super().__init__(f"Role {role} not found")


class LastSuperAdmin(PreconditionFailed):
    """The change would leave the platform without an active super admin."""

    reason = "LAST_SUPER_ADMIN"

    def __init__(self) -> None:
        super().__init__("The last active super admin cannot lose that role or be disabled")
