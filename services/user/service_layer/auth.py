"""Signing in and out: registration, login, refresh rotation, sessions and passwords.

Password hashing is slow on purpose (argon2id), so no handler hashes inside a transaction:
they read, hash off the event loop, then write in a second transaction that re-checks what
the first one read.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from kernel.errors import Conflict
from kernel.security import Caller
from services.user.domain.errors import (
    AccountSuspended,
    EmailAlreadyRegistered,
    InvalidCredentials,
    RefreshTokenInvalid,
    ResetTokenInvalid,
    SessionNotFound,
    TooManyLoginAttempts,
    UserNotFound,
    WrongCurrentPassword,
)
from services.user.domain.model import (
    AuditType,
    PasswordResetToken,
    RefreshToken,
    RevocationReason,
    Session,
    User,
    UserStatus,
    UserView,
    normalize_email,
    token_digest,
)
from services.user.domain.throttling import ThrottleState
from services.user.service_layer.commands import (
    ChangePassword,
    Login,
    Refresh,
    Register,
    RequestPasswordReset,
    ResetPassword,
    RevokeSession,
    SessionCommand,
)
from services.user.service_layer.ports import Dependencies
from services.user.service_layer.shared import (
    audit,
    revoke_all,
    revoke_sessions_now,
    view_of,
)
from services.user.service_layer.unit_of_work import UserUnitOfWork


@dataclass(frozen=True)
class TokenPair:
    """What a client keeps after signing in or refreshing."""

    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


@dataclass(frozen=True)
class SignedIn:
    """The account and its new tokens."""

    view: UserView
    tokens: TokenPair
    session_id: UUID


async def _open_session(
    uow: UserUnitOfWork, user: User, session: Session, deps: Dependencies
) -> SignedIn:
    """Store the session and the first refresh token of its family; sign an access token."""
    await uow.sessions.add(session)
    refresh_token, plaintext = RefreshToken.issue(session, session.created_at)
    await uow.sessions.add_refresh_token(refresh_token)
    view = await view_of(uow, user)
    tokens = _pair(deps, user, session, view.permissions, plaintext)
    return SignedIn(view=view, tokens=tokens, session_id=session.id)


def _pair(
    deps: Dependencies, user: User, session: Session, permissions: frozenset[str], refresh: str
) -> TokenPair:
    access = deps.tokens.issue(
        user_id=user.id, session_id=session.id, roles=user.roles, permissions=permissions
    )
    lifetime = session.expires_at - deps.clock()
    return TokenPair(
        access_token=access.token,
        expires_in=access.expires_in,
        refresh_token=refresh,
        refresh_expires_in=int(lifetime.total_seconds()),
    )


async def register(
    command: Register, uow: UserUnitOfWork, caller: Caller, deps: Dependencies
) -> SignedIn:
    """Create a student account and sign it in."""
    email = normalize_email(command.email)
    deps.policy.check(command.password, email=email, field="password")
    password_hash = await deps.passwords.hash(command.password)
    now = deps.clock()
    async with uow:
        if await uow.users.get_by_email(email) is not None:
            raise EmailAlreadyRegistered()
        user = User.register(email=command.email, full_name=command.full_name, now=now)
        session = Session.start(user.id, command.client, now)
        user.logged_in(session.id, now)
        await uow.users.add(user, password_hash)
        signed_in = await _open_session(uow, user, session, deps)
        await audit(
            uow,
            AuditType.USER_REGISTERED,
            now,
            command.client,
            user_id=user.id,
            session_id=session.id,
        )
        await uow.commit()
    return signed_in


async def login(
    command: Login, uow: UserUnitOfWork, caller: Caller, deps: Dependencies
) -> SignedIn:
    """Check the credentials (throttled per account and per address) and start a session.

    Unknown emails cost one dummy verification and end like wrong passwords: same error,
    same time, same throttle.
    """
    email = normalize_email(command.email)
    throttle_keys = deps.limits.keys(email, command.client.ip_address)
    now = deps.clock()
    async with uow:
        states = await uow.throttles.get(throttle_keys)
        wait = max((state.retry_after(now) for state in states.values()), default=0)
        if wait:
            await audit(
                uow,
                AuditType.LOGIN_THROTTLED,
                now,
                command.client,
                user_id=None,
                details={"email": email, "retryAfterSeconds": str(wait)},
            )
            await uow.commit()
            raise TooManyLoginAttempts(wait)
        user = await uow.users.get_by_email(email)
        stored = await uow.users.password_hash(user.id) if user is not None else None
    matches = await deps.passwords.verify(stored, command.password)
    rehashed = None
    if matches and stored is not None and deps.passwords.needs_rehash(stored):
        rehashed = await deps.passwords.hash(command.password)
    now = deps.clock()
    async with uow:
        if user is not None:
            user = await uow.users.get(user.id)
        # A password change between the two transactions invalidates what was verified.
        if matches and user is not None and await uow.users.password_hash(user.id) == stored:
            if user.status is UserStatus.SUSPENDED:
                await audit(
                    uow,
                    AuditType.LOGIN_FAILED,
                    now,
                    command.client,
                    user_id=user.id,
                    details={"reason": "suspended"},
                )
                await uow.commit()
                raise AccountSuspended()
            await uow.throttles.clear(deps.limits.account_key(email))
            if rehashed is not None:
                await uow.users.set_password_hash(user.id, rehashed, now)
            session = Session.start(user.id, command.client, now)
            user.logged_in(session.id, now)
            await uow.users.save(user)
            signed_in = await _open_session(uow, user, session, deps)
            await audit(
                uow,
                AuditType.LOGIN_SUCCEEDED,
                now,
                command.client,
                user_id=user.id,
                session_id=session.id,
            )
            await uow.commit()
            return signed_in
        states = await uow.throttles.get(throttle_keys)
        for key, limit in throttle_keys.items():
            state = states.setdefault(key, ThrottleState(key=key))
            state.record_failure(now, limit, deps.limits)
        await uow.throttles.save(list(states.values()))
        await audit(
            uow,
            AuditType.LOGIN_FAILED,
            now,
            command.client,
            user_id=user.id if user is not None else None,
            details={"email": email, "reason": "bad_credentials"},
        )
        await uow.commit()
    raise InvalidCredentials()


async def refresh(
    command: Refresh, uow: UserUnitOfWork, caller: Caller, deps: Dependencies
) -> TokenPair:
    """Rotate a refresh token; a rotated token used again revokes its whole session."""
    now = deps.clock()
    async with uow:
        token = await uow.sessions.refresh_token_by_hash(token_digest(command.refresh_token))
        session = await uow.sessions.get(token.session_id) if token is not None else None
        if token is None or session is None:
            raise RefreshTokenInvalid()
        if token.rotated_at is not None or not await uow.sessions.mark_rotated(token.id, now):
            # Theft detection: the thief or the owner holds a newer token; end them both.
            revoked = revoke_all([session], RevocationReason.REFRESH_TOKEN_REUSE, now)
            await uow.sessions.save_revocations(revoked)
            await audit(
                uow,
                AuditType.REFRESH_TOKEN_REUSED,
                now,
                command.client,
                user_id=session.user_id,
                session_id=session.id,
            )
            await uow.commit()
            await revoke_sessions_now(deps, [session.id])
            raise RefreshTokenInvalid()
        if not session.is_live(now) or token.expires_at <= now:
            raise RefreshTokenInvalid()
        user = await uow.users.get(session.user_id)
        if user is None or not user.is_active:
            raise RefreshTokenInvalid()
        session.extend(now)
        await uow.sessions.save(session)
        new_token, plaintext = RefreshToken.issue(session, now)
        await uow.sessions.add_refresh_token(new_token)
        catalogue = await uow.roles.catalogue()
        await uow.commit()
    return _pair(deps, user, session, catalogue.permissions_for(user.roles), plaintext)


async def logout(
    command: SessionCommand, uow: UserUnitOfWork, caller: Caller, deps: Dependencies
) -> None:
    """End the caller's current session (idempotent)."""
    user_id = caller.require_user()
    now = deps.clock()
    async with uow:
        session = await uow.sessions.get(caller.session_id) if caller.session_id else None
        if session is not None and session.user_id == user_id:
            await uow.sessions.save_revocations(revoke_all([session], RevocationReason.LOGOUT, now))
        await audit(uow, AuditType.LOGOUT, now, command.client, user_id=user_id, caller=caller)
        await uow.commit()
    if caller.session_id is not None:
        await revoke_sessions_now(deps, [caller.session_id])


async def list_sessions(
    uow: UserUnitOfWork, caller: Caller, deps: Dependencies
) -> list[tuple[Session, bool]]:
    """The caller's live sessions, each with whether it is the current one."""
    user_id = caller.require_user()
    async with uow:
        sessions = await uow.sessions.live_for_user(user_id, deps.clock())
    return [(session, session.id == caller.session_id) for session in sessions]


async def revoke_session(
    command: RevokeSession, uow: UserUnitOfWork, caller: Caller, deps: Dependencies
) -> None:
    """End one of the caller's sessions; other users' sessions are "not found"."""
    user_id = caller.require_user()
    now = deps.clock()
    async with uow:
        session = await uow.sessions.get(command.session_id)
        if session is None or session.user_id != user_id or not session.is_live(now):
            raise SessionNotFound(command.session_id)
        await uow.sessions.save_revocations(
            revoke_all([session], RevocationReason.REVOKED_BY_USER, now)
        )
        await audit(
            uow,
            AuditType.SESSION_REVOKED,
            now,
            command.client,
            user_id=user_id,
            caller=caller,
            details={"revokedSessionId": str(session.id)},
        )
        await uow.commit()
    await revoke_sessions_now(deps, [session.id])


async def revoke_other_sessions(
    command: SessionCommand, uow: UserUnitOfWork, caller: Caller, deps: Dependencies
) -> int:
    """End every session of the caller but the current one; returns how many ended."""
    user_id = caller.require_user()
    now = deps.clock()
    async with uow:
        others = [
            s for s in await uow.sessions.live_for_user(user_id, now) if s.id != caller.session_id
        ]
        revoked = revoke_all(others, RevocationReason.REVOKED_BY_USER, now)
        await uow.sessions.save_revocations(revoked)
        await audit(
            uow,
            AuditType.SESSION_REVOKED,
            now,
            command.client,
            user_id=user_id,
            caller=caller,
            details={"revokedSessions": str(len(revoked))},
        )
        await uow.commit()
    await revoke_sessions_now(deps, [s.id for s in revoked])
    return len(revoked)


async def change_password(
    command: ChangePassword, uow: UserUnitOfWork, caller: Caller, deps: Dependencies
) -> None:
    """Replace the caller's password and end their other sessions."""
    user_id = caller.require_user()
    async with uow:
        user = await uow.users.get(user_id)
        if user is None or not user.is_active:
            raise UserNotFound(user_id)
        stored = await uow.users.password_hash(user_id)
    deps.policy.check(command.new_password, email=user.email, field="newPassword")
    if not await deps.passwords.verify(stored, command.current_password):
        raise WrongCurrentPassword()
    new_hash = await deps.passwords.hash(command.new_password)
    now = deps.clock()
    async with uow:
        if await uow.users.password_hash(user_id) != stored:
            raise Conflict("The password was changed meanwhile; sign in again")
        await uow.users.set_password_hash(user_id, new_hash, now)
        others = [
            s for s in await uow.sessions.live_for_user(user_id, now) if s.id != caller.session_id
        ]
        revoked = revoke_all(others, RevocationReason.PASSWORD_CHANGED, now)
        await uow.sessions.save_revocations(revoked)
        await audit(
            uow,
            AuditType.PASSWORD_CHANGED,
            now,
            command.client,
            user_id=user_id,
            caller=caller,
            details={"revokedSessions": str(len(revoked))},
        )
        await uow.commit()
    await revoke_sessions_now(deps, [s.id for s in revoked])


async def request_password_reset(
    command: RequestPasswordReset, uow: UserUnitOfWork, caller: Caller, deps: Dependencies
) -> None:
    """Issue a reset token for an active account with this email; silent otherwise."""
    email = normalize_email(command.email)
    now = deps.clock()
    issued: tuple[User, PasswordResetToken, str] | None = None
    async with uow:
        user = await uow.users.get_by_email(email)
        if user is not None and user.is_active:
            await uow.reset_tokens.invalidate_for_user(user.id, now)
            token, plaintext = PasswordResetToken.issue(user.id, now)
            await uow.reset_tokens.add(token)
            issued = (user, token, plaintext)
        await audit(
            uow,
            AuditType.PASSWORD_RESET_REQUESTED,
            now,
            command.client,
            user_id=issued[0].id if issued else None,
            details={"email": email, "issued": str(issued is not None).lower()},
        )
        await uow.commit()
    if issued is not None:
        user, token, plaintext = issued
        await deps.notifier.password_reset_requested(
            email=user.email, token=plaintext, expires_at=token.expires_at
        )


async def reset_password(
    command: ResetPassword, uow: UserUnitOfWork, caller: Caller, deps: Dependencies
) -> None:
    """Set a new password with a single-use token and end every session of the account."""
    digest = token_digest(command.token)
    async with uow:
        token = await uow.reset_tokens.by_hash(digest)
        if token is None or not token.usable(deps.clock()):
            raise ResetTokenInvalid()
        user = await uow.users.get(token.user_id)
        if user is None or not user.is_active:
            raise ResetTokenInvalid()
    deps.policy.check(command.new_password, email=user.email, field="newPassword")
    new_hash = await deps.passwords.hash(command.new_password)
    now = deps.clock()
    async with uow:
        user = await uow.users.get(token.user_id)
        if user is None or not user.is_active or not await uow.reset_tokens.consume(token.id, now):
            raise ResetTokenInvalid()
        await uow.users.set_password_hash(user.id, new_hash, now)
        revoked = revoke_all(
            await uow.sessions.live_for_user(user.id, now), RevocationReason.PASSWORD_RESET, now
        )
        await uow.sessions.save_revocations(revoked)
        # Proving control of the mailbox lifts a lock put on the account by failed logins.
        await uow.throttles.clear(deps.limits.account_key(user.email_normalized))
        await audit(
            uow,
            AuditType.PASSWORD_RESET,
            now,
            command.client,
            user_id=user.id,
            details={"revokedSessions": str(len(revoked))},
        )
        await uow.commit()
    await revoke_sessions_now(deps, [s.id for s in revoked])
