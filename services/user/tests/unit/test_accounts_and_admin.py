"""Own account, administration, audit queries and seeding against in-memory adapters."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kernel.errors import Conflict, PermissionDenied, Unauthenticated
from kernel.pagination import InvalidPageToken
from kernel.security import ANONYMOUS, Caller
from services.user.domain.errors import (
    LastSuperAdmin,
    RoleNotFound,
    UsernameTaken,
    UserNotFound,
)
from services.user.domain.model import ProfileChanges, User, UserStatus
from services.user.service_layer import accounts, admin, auth
from services.user.service_layer.commands import (
    ChangeRole,
    CreateAdmin,
    ListAuditEvents,
    ListUsers,
    Register,
    SessionCommand,
    UpdateProfile,
    UpdateUser,
)
from services.user.service_layer.seeding import AdminOutcome, create_admin, seed_super_admin
from services.user.tests.fakes import (
    CATALOGUE,
    Clock,
    FakeRevocations,
    FakeUserUnitOfWork,
    fake_dependencies,
)

PASSWORD = "correct horse battery"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def deps(clock):
    return fake_dependencies(clock)


@pytest.fixture
def uow() -> FakeUserUnitOfWork:
    return FakeUserUnitOfWork()


async def _account(uow, deps, name: str, *roles: str) -> Caller:
    """A registered account holding `roles` (besides student) and a session, as a caller."""
    signed_in = await auth.register(
        Register(f"{name}@example.test", PASSWORD, name.title()), uow, ANONYMOUS, deps
    )
    stored: User = uow.users.rows[signed_in.view.user.id]
    stored.roles |= set(roles)
    return Caller(
        user_id=stored.id,
        session_id=signed_in.session_id,
        roles=frozenset(stored.roles),
        permissions=CATALOGUE.permissions_for(stored.roles),
    )


async def test_update_me_changes_the_profile_and_checks_version_and_username(uow, deps):
    ada = await _account(uow, deps, "ada")
    bob = await _account(uow, deps, "bob")
    view = await accounts.update_me(
        UpdateProfile(ProfileChanges(username="Ada_L", timezone="Europe/Paris"), 1),
        uow,
        ada,
        deps,
    )
    assert (view.user.username, view.user.timezone, view.user.version) == (
        "Ada_L",
        "Europe/Paris",
        2,
    )
    assert uow.event_types()[-1] == "UserProfileUpdated"
    with pytest.raises(Conflict):
        await accounts.update_me(UpdateProfile(ProfileChanges(bio="x"), 1), uow, ada, deps)
    with pytest.raises(UsernameTaken):
        await accounts.update_me(UpdateProfile(ProfileChanges(username="ada_l")), uow, bob, deps)


async def test_delete_me_anonymises_and_ends_everything(uow, deps):
    ada = await _account(uow, deps, "ada")
    await accounts.delete_me(SessionCommand(), uow, ada, deps)
    stored = uow.users.rows[ada.require_user()]
    assert stored.status is UserStatus.DEACTIVATED
    assert "ada" not in stored.email
    assert ada.require_user() not in uow.users.passwords
    assert uow.event_types()[-2:] == ["UserDeleted", "SessionRevoked"]
    with pytest.raises(UserNotFound):
        await accounts.get_me(uow, ada)
    with pytest.raises(UserNotFound):
        await accounts.get_public_profile(ada.require_user(), uow)


async def test_the_last_super_admin_cannot_leave(uow, deps):
    root = await _account(uow, deps, "root", "super_admin")
    with pytest.raises(LastSuperAdmin):
        await accounts.delete_me(SessionCommand(), uow, root, deps)
    with pytest.raises(LastSuperAdmin):
        await admin.revoke_role(ChangeRole(root.require_user(), "super_admin"), uow, root, deps)
    await _account(uow, deps, "second", "super_admin")
    await admin.revoke_role(ChangeRole(root.require_user(), "super_admin"), uow, root, deps)
    assert "super_admin" not in uow.users.rows[root.require_user()].roles
    revocations: FakeRevocations = deps.revocations
    assert [user for user, _ in revocations.users] == [str(root.require_user())]


async def test_admin_routes_check_permissions_in_the_service(uow, deps):
    student = await _account(uow, deps, "student")
    for call in (
        admin.list_users(ListUsers(), uow, student, deps),
        admin.get_user(student.require_user(), uow, student),
        admin.update_user(UpdateUser(student.require_user()), uow, student, deps),
        admin.grant_role(ChangeRole(student.require_user(), "admin"), uow, student, deps),
        admin.list_audit_events(ListAuditEvents(), uow, student, deps),
    ):
        with pytest.raises(PermissionDenied):
            await call
    with pytest.raises(Unauthenticated):
        await admin.list_users(ListUsers(), uow, ANONYMOUS, deps)


async def test_users_are_listed_newest_first_in_signed_pages(uow, deps, clock):
    boss = await _account(uow, deps, "boss", "admin")
    for index in range(4):
        clock.advance(seconds=1)
        await _account(uow, deps, f"user{index}")
    first = await admin.list_users(ListUsers(q="USER", page_size=3), uow, boss, deps)
    assert [v.user.full_name for v in first.items] == ["User3", "User2", "User1"]
    assert first.total_size == 4
    second = await admin.list_users(
        ListUsers(q="user", page_size=3, page_token=first.next_page_token), uow, boss, deps
    )
    assert [v.user.full_name for v in second.items] == ["User0"]
    assert second.next_page_token == ""
    with pytest.raises(InvalidPageToken):
        await admin.list_users(
            ListUsers(q="boss", page_token=first.next_page_token), uow, boss, deps
        )
    admins = await admin.list_users(ListUsers(role="admin"), uow, boss, deps)
    assert [v.user.id for v in admins.items] == [boss.require_user()]


async def test_suspension_ends_sessions_and_follows_the_rules(uow, deps):
    boss = await _account(uow, deps, "boss", "admin")
    root = await _account(uow, deps, "root", "super_admin")
    ada = await _account(uow, deps, "ada")
    uow.published.clear()
    view = await admin.update_user(
        UpdateUser(ada.require_user(), status=UserStatus.SUSPENDED, status_reason="spam"),
        uow,
        boss,
        deps,
    )
    assert view.user.status is UserStatus.SUSPENDED
    assert uow.event_types() == ["UserSuspended", "SessionRevoked"]
    assert deps.revocations.sessions == [str(ada.session_id)]
    with pytest.raises(PermissionDenied):  # an admin cannot suspend a super admin
        await admin.update_user(
            UpdateUser(root.require_user(), status=UserStatus.SUSPENDED), uow, boss, deps
        )
    with pytest.raises(PermissionDenied):  # nor themself
        await admin.update_user(
            UpdateUser(boss.require_user(), status=UserStatus.SUSPENDED), uow, boss, deps
        )
    reactivated = await admin.update_user(
        UpdateUser(ada.require_user(), status=UserStatus.ACTIVE), uow, boss, deps
    )
    assert reactivated.user.status is UserStatus.ACTIVE
    assert uow.audit.types()[-2:] == ["user.suspended", "user.reactivated"]


async def test_only_super_admins_hand_out_super_admin(uow, deps):
    boss = await _account(uow, deps, "boss", "admin")
    root = await _account(uow, deps, "root", "super_admin")
    ada = await _account(uow, deps, "ada")
    with pytest.raises(PermissionDenied):
        await admin.grant_role(ChangeRole(ada.require_user(), "super_admin"), uow, boss, deps)
    with pytest.raises(RoleNotFound):
        await admin.grant_role(ChangeRole(ada.require_user(), "wizard"), uow, boss, deps)
    view = await admin.grant_role(ChangeRole(ada.require_user(), "super_admin"), uow, root, deps)
    assert view.permissions == CATALOGUE.permissions_for(["super_admin", "student"])
    uow.published.clear()
    await admin.grant_role(ChangeRole(ada.require_user(), "super_admin"), uow, root, deps)
    assert uow.published == []  # granting twice changes nothing


async def test_audit_events_filter_by_user_type_and_time(uow, deps, clock):
    boss = await _account(uow, deps, "boss", "admin")
    start = clock()
    clock.advance(minutes=1)
    ada = await _account(uow, deps, "ada")
    page = await admin.list_audit_events(
        ListAuditEvents(user_id=ada.require_user()), uow, boss, deps
    )
    assert [e.type.value for e in page.items] == ["user.registered"]
    typed = await admin.list_audit_events(ListAuditEvents(type="user.registered"), uow, boss, deps)
    assert typed.total_size == 2
    early = await admin.list_audit_events(
        ListAuditEvents(occurred_to=start + timedelta(seconds=1)), uow, boss, deps
    )
    assert [e.user_id for e in early.items] == [boss.require_user()]


async def test_seed_creates_one_super_admin_and_never_promotes_a_stranger(uow, deps):
    outcome = await seed_super_admin("root@example.test", PASSWORD, uow, deps)
    assert outcome is AdminOutcome.CREATED
    assert await seed_super_admin("root@example.test", PASSWORD, uow, deps) is (
        AdminOutcome.SUPER_ADMIN_EXISTS
    )
    other = FakeUserUnitOfWork()
    await _account(other, deps, "squatter")
    taken = await seed_super_admin("squatter@example.test", PASSWORD, other, deps)
    assert taken is AdminOutcome.EMAIL_TAKEN
    assert all("super_admin" not in u.roles for u in other.users.rows.values())


async def test_create_admin_grants_the_role_to_an_existing_account(uow, deps):
    ada = await _account(uow, deps, "ada")
    view, outcome = await create_admin(
        CreateAdmin("ADA@example.test", "another passphrase", "admin"), uow, deps
    )
    assert (view.user.id, outcome) == (ada.require_user(), AdminOutcome.ROLE_GRANTED)
    assert (
        uow.users.passwords[ada.require_user()] == f"v1${PASSWORD}"
    )  # the password is not taken over
    _, again = await create_admin(CreateAdmin("ada@example.test", PASSWORD, "admin"), uow, deps)
    assert again is AdminOutcome.UNCHANGED
