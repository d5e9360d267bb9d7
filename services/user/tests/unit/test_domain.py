"""Pure domain rules: password policy, login throttle, profile changes, role catalogue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kernel.errors import ValidationFailed
from services.user.domain.errors import WeakPassword
from services.user.domain.events import UserProfileUpdated
from services.user.domain.model import (
    AccountDeactivated,
    ProfileChanges,
    User,
    normalize_email,
    token_digest,
)
from services.user.domain.passwords import PasswordPolicy
from services.user.domain.throttling import LoginLimits, ThrottleState
from services.user.tests.fakes import CATALOGUE

NOW = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = PasswordPolicy(frozenset({"password1234", "qwertyuiop"}))


@pytest.mark.parametrize(
    ("password", "problems"),
    [
        ("short", ["must be at least 10 characters"]),
        ("Password1234", ["is too common; choose another password"]),
        ("Ada@Example.test", ["must not be the email address"]),
        ("a perfectly fine passphrase", []),
    ],
)
def test_password_policy_reports_each_broken_rule(password: str, problems: list[str]):
    violations = POLICY.violations(password, email="ada@example.test", field="newPassword")
    assert [v.description for v in violations] == problems
    assert all(v.field == "newPassword" for v in violations)


def test_weak_password_error_carries_the_field_details():
    with pytest.raises(WeakPassword) as raised:
        POLICY.check("qwertyuiop", email="x@example.test", field="password")
    assert raised.value.reason == "WEAK_PASSWORD"
    assert [v.field for v in raised.value.violations] == ["password"]


def test_throttle_locks_after_the_limit_and_doubles_the_lock():
    limits = LoginLimits(account_failures=3)
    state = ThrottleState(key="account:a")
    for _ in range(2):
        state.record_failure(NOW, 3, limits)
    assert state.retry_after(NOW) == 0
    state.record_failure(NOW, 3, limits)
    assert state.retry_after(NOW) == 30
    state.record_failure(NOW + timedelta(seconds=31), 3, limits)
    assert state.retry_after(NOW + timedelta(seconds=31)) == 60


def test_throttle_forgets_failures_after_a_quiet_window_and_caps_the_lock():
    limits = LoginLimits(account_failures=1, max_lock=timedelta(minutes=2))
    state = ThrottleState(key="ip:1.2.3.4")
    for minute in range(6):
        state.record_failure(NOW + timedelta(minutes=minute), 1, limits)
    assert state.retry_after(NOW + timedelta(minutes=5)) == 120
    later = NOW + timedelta(hours=1)
    state.record_failure(later, 5, limits)
    assert state.failures == 1
    assert limits.keys("a@b.c", "") == {"account:a@b.c": 1}


def test_profile_changes_only_touch_given_fields_and_raise_one_event():
    user = User.register(email=" Ada@Example.TEST ", full_name="Ada", now=NOW)
    assert user.email_normalized == normalize_email("ada@example.test")
    user.pull_events()
    changed = user.update_profile(
        ProfileChanges(display_name="Countess", bio=" Analyst ", full_name="Ada"),
        actor=user.id,
        now=NOW,
    )
    assert changed == ["displayName", "bio"]
    assert (user.display_name, user.bio, user.version) == ("Countess", "Analyst", 2)
    [raised] = user.pull_events()
    assert isinstance(raised.event, UserProfileUpdated)
    assert user.update_profile(ProfileChanges(bio="Analyst"), actor=user.id, now=NOW) == []
    assert user.version == 2


def test_blank_names_are_refused_and_deactivated_accounts_are_frozen():
    user = User.register(email="ada@example.test", full_name="Ada", now=NOW)
    with pytest.raises(ValidationFailed) as raised:
        user.update_profile(ProfileChanges(full_name=" "), actor=user.id, now=NOW)
    assert [v.field for v in raised.value.violations] == ["fullName"]
    user.deactivate(NOW)
    assert user.email == f"deleted-{user.id}@deleted.invalid"
    assert user.full_name == "Deleted user"
    with pytest.raises(AccountDeactivated):
        user.update_profile(ProfileChanges(bio="x"), actor=user.id, now=NOW)


def test_catalogue_unions_the_permissions_of_several_roles():
    assert CATALOGUE.permissions_for(["student", "instructor", "unknown"]) == {
        "enrollment:create",
        "course:create",
    }
    assert token_digest("abc") != token_digest("abd")
    assert len(token_digest("abc")) == 64
