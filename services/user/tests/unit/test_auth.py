"""Signing in and out against in-memory adapters."""

from __future__ import annotations

import pytest

from kernel.errors import Unauthenticated
from kernel.security import ANONYMOUS, Caller
from services.user.domain.errors import (
    AccountSuspended,
    EmailAlreadyRegistered,
    InvalidCredentials,
    RefreshTokenInvalid,
    ResetTokenInvalid,
    SessionNotFound,
    TooManyLoginAttempts,
    WeakPassword,
    WrongCurrentPassword,
)
from services.user.domain.model import ClientInfo, UserStatus
from services.user.domain.throttling import LoginLimits
from services.user.service_layer import auth
from services.user.service_layer.auth import SignedIn
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
from services.user.tests.fakes import (
    Clock,
    FakeHasher,
    FakeNotifier,
    FakeRevocations,
    FakeUserUnitOfWork,
    fake_dependencies,
)

PASSWORD = "correct horse battery"
EMAIL = "ada@example.test"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def deps(clock: Clock) -> Dependencies:
    return fake_dependencies(clock)


@pytest.fixture
def uow() -> FakeUserUnitOfWork:
    return FakeUserUnitOfWork()


def caller_of(signed_in: SignedIn) -> Caller:
    user = signed_in.view.user
    return Caller(
        user_id=user.id,
        session_id=signed_in.session_id,
        roles=frozenset(user.roles),
        permissions=signed_in.view.permissions,
    )


async def _register(uow, deps, email: str = EMAIL) -> SignedIn:
    return await auth.register(Register(email, PASSWORD, "Ada Lovelace"), uow, ANONYMOUS, deps)


async def _login(uow, deps, email: str = EMAIL, password: str = PASSWORD, ip: str = "10.0.0.1"):
    command = Login(email, password, ClientInfo(ip_address=ip, user_agent="pytest"))
    return await auth.login(command, uow, ANONYMOUS, deps)


async def test_registration_makes_a_signed_in_student(uow, deps):
    signed_in = await _register(uow, deps)
    user = signed_in.view.user
    assert user.roles == {"student"}
    assert signed_in.view.permissions == {"enrollment:create"}
    assert signed_in.tokens.access_token.startswith(f"{user.id}|{signed_in.session_id}|")
    assert signed_in.tokens.refresh_expires_in == 30 * 24 * 3600
    assert uow.users.passwords[user.id] == f"v1${PASSWORD}"
    assert uow.event_types() == ["UserRegistered", "UserLoggedIn"]
    assert uow.audit.types() == ["user.registered"]


async def test_registration_refuses_weak_passwords_before_hashing(uow, deps):
    with pytest.raises(WeakPassword) as raised:
        await auth.register(Register(EMAIL, "password1234", "Ada"), uow, ANONYMOUS, deps)
    assert [v.field for v in raised.value.violations] == ["password"]
    assert deps.passwords.hashes == 0
    assert uow.commits == 0


async def test_emails_are_unique_case_insensitively(uow, deps):
    await _register(uow, deps)
    with pytest.raises(EmailAlreadyRegistered):
        await _register(uow, deps, email=" ADA@example.TEST")


async def test_unknown_email_and_wrong_password_fail_alike(uow, deps):
    await _register(uow, deps)
    hasher: FakeHasher = deps.passwords
    before = hasher.verifications
    errors = []
    for email, password in (("nobody@example.test", PASSWORD), (EMAIL, "wrong password!")):
        with pytest.raises(InvalidCredentials) as raised:
            await _login(uow, deps, email, password)
        errors.append((raised.value.code, raised.value.reason, raised.value.message))
    assert errors[0] == errors[1]
    assert hasher.verifications - before == 2  # the unknown email paid for a verification too
    assert uow.audit.types()[-2:] == ["login.failed", "login.failed"]
    assert set(uow.throttles.rows) == {
        "account:nobody@example.test",
        f"account:{EMAIL}",
        "ip:10.0.0.1",
    }


async def test_repeated_failures_lock_the_account_then_expire(uow, deps, clock):
    await _register(uow, deps)
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await _login(uow, deps, password="wrong password!")
    hasher: FakeHasher = deps.passwords
    verified = hasher.verifications
    with pytest.raises(TooManyLoginAttempts) as raised:
        await _login(uow, deps)  # even the right password waits
    assert raised.value.metadata == {"retryAfterSeconds": "30"}
    assert hasher.verifications == verified  # refused before checking the password
    assert uow.audit.types()[-1] == "login.throttled"
    clock.advance(seconds=31)
    with pytest.raises(InvalidCredentials):
        await _login(uow, deps, password="wrong again!!")
    with pytest.raises(TooManyLoginAttempts) as doubled:
        await _login(uow, deps)
    assert doubled.value.retry_after_seconds == 60
    clock.advance(seconds=61)
    await _login(uow, deps)
    assert f"account:{EMAIL}" not in uow.throttles.rows  # success forgets the account's failures


async def test_one_address_guessing_many_accounts_is_locked(uow, clock):
    deps = fake_dependencies(clock, LoginLimits(ip_failures=3))
    for index in range(3):
        with pytest.raises(InvalidCredentials):
            await _login(uow, deps, email=f"guess{index}@example.test", ip="6.6.6.6")
    with pytest.raises(TooManyLoginAttempts):
        await _login(uow, deps, email="another@example.test", ip="6.6.6.6")
    with pytest.raises(InvalidCredentials):
        await _login(uow, deps, email="another@example.test", ip="7.7.7.7")


async def test_login_rehashes_a_password_hashed_with_old_parameters(uow, deps):
    signed_in = await _register(uow, deps)
    user_id = signed_in.view.user.id
    uow.users.passwords[user_id] = f"v0${PASSWORD}"
    await _login(uow, deps)
    assert uow.users.passwords[user_id] == f"v1${PASSWORD}"
    assert uow.users.rows[user_id].last_login_at == deps.clock()


async def test_suspension_is_revealed_only_to_the_right_password(uow, deps):
    signed_in = await _register(uow, deps)
    uow.users.rows[signed_in.view.user.id].status = UserStatus.SUSPENDED
    with pytest.raises(InvalidCredentials):
        await _login(uow, deps, password="wrong password!")
    with pytest.raises(AccountSuspended):
        await _login(uow, deps)


async def test_refresh_rotates_and_reuse_revokes_the_whole_session(uow, deps):
    signed_in = await _register(uow, deps)
    first = signed_in.tokens.refresh_token
    second = await auth.refresh(Refresh(first), uow, ANONYMOUS, deps)
    assert second.refresh_token != first
    uow.published.clear()
    with pytest.raises(RefreshTokenInvalid):
        await auth.refresh(Refresh(first), uow, ANONYMOUS, deps)  # reuse: theft detected
    assert uow.event_types() == ["SessionRevoked"]
    assert uow.published[0].event.reason == "refresh_token_reuse"
    revocations: FakeRevocations = deps.revocations
    assert revocations.sessions == [str(signed_in.session_id)]
    assert uow.audit.types()[-1] == "refresh_token.reused"
    with pytest.raises(RefreshTokenInvalid):
        await auth.refresh(Refresh(second.refresh_token), uow, ANONYMOUS, deps)
    with pytest.raises(RefreshTokenInvalid):
        await auth.refresh(Refresh("never-issued"), uow, ANONYMOUS, deps)


async def test_suspended_users_cannot_refresh(uow, deps):
    signed_in = await _register(uow, deps)
    uow.users.rows[signed_in.view.user.id].status = UserStatus.SUSPENDED
    with pytest.raises(RefreshTokenInvalid):
        await auth.refresh(Refresh(signed_in.tokens.refresh_token), uow, ANONYMOUS, deps)


async def test_logout_ends_only_the_current_session(uow, deps):
    first = await _register(uow, deps)
    second = await _login(uow, deps)
    uow.published.clear()
    await auth.logout(SessionCommand(), uow, caller_of(first), deps)
    assert uow.event_types() == ["SessionRevoked"]
    listed = await auth.list_sessions(uow, caller_of(second), deps)
    assert [(s.id, current) for s, current in listed] == [(second.session_id, True)]
    with pytest.raises(Unauthenticated):
        await auth.logout(SessionCommand(), uow, ANONYMOUS, deps)


async def test_sessions_of_other_users_are_not_found(uow, deps):
    ada = await _register(uow, deps)
    bob = await _register(uow, deps, email="bob@example.test")
    with pytest.raises(SessionNotFound):
        await auth.revoke_session(RevokeSession(bob.session_id), uow, caller_of(ada), deps)
    assert uow.sessions.rows[bob.session_id].revoked_at is None
    await auth.revoke_session(RevokeSession(ada.session_id), uow, caller_of(ada), deps)
    with pytest.raises(SessionNotFound):  # already ended
        await auth.revoke_session(RevokeSession(ada.session_id), uow, caller_of(ada), deps)


async def test_revoke_others_keeps_the_current_session(uow, deps):
    current = await _register(uow, deps)
    for _ in range(2):
        await _login(uow, deps)
    count = await auth.revoke_other_sessions(SessionCommand(), uow, caller_of(current), deps)
    assert count == 2
    listed = await auth.list_sessions(uow, caller_of(current), deps)
    assert [s.id for s, _ in listed] == [current.session_id]


async def test_password_change_checks_the_old_one_and_ends_other_sessions(uow, deps):
    current = await _register(uow, deps)
    other = await _login(uow, deps)
    caller = caller_of(current)
    with pytest.raises(WrongCurrentPassword):
        await auth.change_password(
            ChangePassword("not the password", "a brand new passphrase"), uow, caller, deps
        )
    with pytest.raises(WeakPassword) as weak:
        await auth.change_password(ChangePassword(PASSWORD, "short"), uow, caller, deps)
    assert [v.field for v in weak.value.violations] == ["newPassword"]
    await auth.change_password(
        ChangePassword(PASSWORD, "a brand new passphrase"), uow, caller, deps
    )
    assert uow.sessions.rows[other.session_id].revoked_reason == "password_changed"
    assert uow.sessions.rows[current.session_id].revoked_at is None
    with pytest.raises(InvalidCredentials):
        await _login(uow, deps)
    await _login(uow, deps, password="a brand new passphrase")


async def test_reset_tokens_go_to_known_accounts_only_and_are_single_use(uow, deps, clock):
    signed_in = await _register(uow, deps)
    notifier: FakeNotifier = deps.notifier
    await auth.request_password_reset(
        RequestPasswordReset("nobody@example.test"), uow, ANONYMOUS, deps
    )
    await auth.request_password_reset(RequestPasswordReset(EMAIL), uow, ANONYMOUS, deps)
    [(email, token)] = notifier.sent
    assert email == EMAIL
    await auth.reset_password(ResetPassword(token, "reset passphrase 42"), uow, ANONYMOUS, deps)
    assert uow.sessions.rows[signed_in.session_id].revoked_reason == "password_reset"
    await _login(uow, deps, password="reset passphrase 42")
    with pytest.raises(ResetTokenInvalid):
        await auth.reset_password(ResetPassword(token, "another passphrase"), uow, ANONYMOUS, deps)
    await auth.request_password_reset(RequestPasswordReset(EMAIL), uow, ANONYMOUS, deps)
    clock.advance(minutes=31)
    with pytest.raises(ResetTokenInvalid):
        await auth.reset_password(
            ResetPassword(notifier.sent[-1][1], "too late passphrase"), uow, ANONYMOUS, deps
        )


async def test_a_new_reset_request_invalidates_the_previous_token(uow, deps):
    await _register(uow, deps)
    notifier: FakeNotifier = deps.notifier
    for _ in range(2):
        await auth.request_password_reset(RequestPasswordReset(EMAIL), uow, ANONYMOUS, deps)
    with pytest.raises(ResetTokenInvalid):
        await auth.reset_password(
            ResetPassword(notifier.sent[0][1], "first token passphrase"), uow, ANONYMOUS, deps
        )
    await auth.reset_password(
        ResetPassword(notifier.sent[1][1], "second token passphrase"), uow, ANONYMOUS, deps
    )
    await _login(uow, deps, password="second token passphrase")
