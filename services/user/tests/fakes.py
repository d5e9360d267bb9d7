"""In-memory adapters for unit tests of the user service's use cases."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from kernel.domain import RaisedEvent
from kernel.errors import Conflict
from kernel.pagination import PageTokenCodec
from services.user.domain.errors import EmailAlreadyRegistered, UsernameTaken
from services.user.domain.model import (
    SUPER_ADMIN,
    AuditEntry,
    InstructorStats,
    PasswordResetToken,
    RefreshToken,
    RoleCatalogue,
    RoleDefinition,
    Session,
    User,
    UserStatus,
)
from services.user.domain.passwords import PasswordPolicy
from services.user.domain.throttling import LoginLimits, ThrottleState
from services.user.service_layer.ports import AccessToken, Dependencies
from services.user.service_layer.unit_of_work import (
    AuditFilter,
    AuditLog,
    Cursor,
    ResetTokenRepository,
    RoleRepository,
    SessionRepository,
    TeachingRepository,
    ThrottleRepository,
    UserFilter,
    UserRepository,
    UserUnitOfWork,
)

ALL_PERMISSIONS = frozenset({"user:read", "user:manage", "user:manage_roles", "audit:read"})
CATALOGUE = RoleCatalogue(
    {
        "super_admin": RoleDefinition("super_admin", "", ALL_PERMISSIONS),
        "admin": RoleDefinition("admin", "", ALL_PERMISSIONS),
        "instructor": RoleDefinition("instructor", "", frozenset({"course:create"})),
        "student": RoleDefinition("student", "", frozenset({"enrollment:create"})),
        "viewer": RoleDefinition("viewer", "", frozenset()),
    }
)


class Clock:
    """A controllable "now"."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move time forward."""
        self.now += timedelta(**delta)


class FakeHasher:
    """Reversible "hashes" that record how often they were computed or checked."""

    def __init__(self, scheme: str = "v1") -> None:
        self.scheme = scheme
        self.verifications = 0
        self.hashes = 0

    async def hash(self, password: str) -> str:
        self.hashes += 1
        return f"{self.scheme}${password}"

    async def verify(self, password_hash: str | None, password: str) -> bool:
        self.verifications += 1
        return password_hash is not None and password_hash.split("$", 1)[1] == password

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith(f"{self.scheme}$")


class FakeTokens:
    """Access tokens that spell out their claims."""

    def issue(
        self,
        *,
        user_id: UUID,
        session_id: UUID,
        roles: Iterable[str],
        permissions: Iterable[str],
    ) -> AccessToken:
        return AccessToken(
            token=f"{user_id}|{session_id}|{','.join(sorted(permissions))}", expires_in=900
        )


class FakeNotifier:
    """Keeps the reset tokens it was asked to deliver."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def password_reset_requested(
        self, *, email: str, token: str, expires_at: datetime
    ) -> None:
        self.sent.append((email, token))


class FakeRevocations:
    """Records what was revoked."""

    def __init__(self) -> None:
        self.sessions: list[str] = []
        self.users: list[tuple[str, float]] = []

    async def revoke_session(self, session_id: str) -> None:
        self.sessions.append(session_id)

    async def revoke_user_before(self, user_id: str, moment: float) -> None:
        self.users.append((user_id, moment))


def fake_dependencies(
    clock: Clock | None = None, limits: LoginLimits | None = None
) -> Dependencies:
    """Dependencies with every port faked; the policy knows one common password."""
    return Dependencies(
        passwords=FakeHasher(),
        policy=PasswordPolicy(frozenset({"password1234"})),
        tokens=FakeTokens(),
        notifier=FakeNotifier(),
        revocations=FakeRevocations(),
        pages=PageTokenCodec(b"test-secret"),
        limits=limits or LoginLimits(),
        clock=clock or Clock(),
    )


class FakeUserRepository(UserRepository):
    """Accounts in dicts; hands out copies like a database would."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[UUID, User] = {}
        self.passwords: dict[UUID, str] = {}

    def _hand_out(self, user: User) -> User:
        stored = copy.deepcopy(user)
        stored.pull_events()
        tracked: User = self._track(stored)
        return tracked

    def _check_unique(self, user: User) -> None:
        for other in self.rows.values():
            if other.id == user.id:
                continue
            if other.email_normalized == user.email_normalized:
                raise EmailAlreadyRegistered()
            if user.username_normalized and other.username_normalized == user.username_normalized:
                raise UsernameTaken(user.username or "")

    async def add(self, user: User, password_hash: str | None) -> None:
        self._check_unique(user)
        self.rows[user.id] = copy.deepcopy(user)
        self.rows[user.id].pull_events()
        if password_hash is not None:
            self.passwords[user.id] = password_hash
        self._track(user)

    async def get(self, user_id: UUID) -> User | None:
        found = self.rows.get(user_id)
        return self._hand_out(found) if found else None

    async def get_by_email(self, email_normalized: str) -> User | None:
        found = next(
            (u for u in self.rows.values() if u.email_normalized == email_normalized), None
        )
        return self._hand_out(found) if found else None

    async def save(self, user: User) -> None:
        self._check_unique(user)
        stored = self.rows[user.id]
        if stored.version not in {user.version, user.version - 1}:
            raise Conflict("stale")
        self.rows[user.id] = copy.deepcopy(user)
        self.rows[user.id].pull_events()

    async def password_hash(self, user_id: UUID) -> str | None:
        return self.passwords.get(user_id)

    async def set_password_hash(self, user_id: UUID, password_hash: str, now: datetime) -> None:
        self.passwords[user_id] = password_hash

    async def remove_password(self, user_id: UUID) -> None:
        self.passwords.pop(user_id, None)

    def _matching(self, criteria: UserFilter) -> list[User]:
        found = []
        for user in self.rows.values():
            text = f"{user.email} {user.full_name} {user.display_name} {user.username or ''}"
            if criteria.q and criteria.q.lower() not in text.lower():
                continue
            if criteria.role and criteria.role not in user.roles:
                continue
            if criteria.status is not None and user.status is not criteria.status:
                continue
            found.append(user)
        return sorted(found, key=lambda u: (u.created_at, u.id), reverse=True)

    async def search(self, criteria: UserFilter, after: Cursor | None, limit: int) -> list[User]:
        users = self._matching(criteria)
        if after is not None:
            users = [u for u in users if (u.created_at, u.id) < after]
        return [self._hand_out(u) for u in users[:limit]]

    async def count(self, criteria: UserFilter) -> int:
        return len(self._matching(criteria))

    async def active_super_admins(self) -> set[UUID]:
        return {
            u.id
            for u in self.rows.values()
            if SUPER_ADMIN in u.roles and u.status is UserStatus.ACTIVE
        }


class FakeSessionRepository(SessionRepository):
    """Sessions and refresh tokens in dicts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[UUID, Session] = {}
        self.tokens: dict[str, RefreshToken] = {}

    def _hand_out(self, session: Session) -> Session:
        stored = copy.deepcopy(session)
        stored.pull_events()
        return self._track(stored)

    async def add(self, session: Session) -> None:
        self.rows[session.id] = copy.deepcopy(session)
        self._track(session)

    async def get(self, session_id: UUID) -> Session | None:
        found = self.rows.get(session_id)
        return self._hand_out(found) if found else None

    async def live_for_user(self, user_id: UUID, now: datetime) -> list[Session]:
        live = [s for s in self.rows.values() if s.user_id == user_id and s.is_live(now)]
        return [self._hand_out(s) for s in sorted(live, key=lambda s: s.created_at, reverse=True)]

    async def save(self, session: Session) -> None:
        self.rows[session.id] = copy.deepcopy(session)

    async def save_revocations(self, sessions: Sequence[Session]) -> None:
        for session in sessions:
            await self.save(session)

    async def add_refresh_token(self, token: RefreshToken) -> None:
        self.tokens[token.token_hash] = copy.copy(token)

    async def refresh_token_by_hash(self, token_hash: str) -> RefreshToken | None:
        found = self.tokens.get(token_hash)
        return copy.copy(found) if found else None

    async def mark_rotated(self, token_id: UUID, now: datetime) -> bool:
        token = next(t for t in self.tokens.values() if t.id == token_id)
        if token.rotated_at is not None:
            return False
        token.rotated_at = now
        return True


class FakeResetTokens(ResetTokenRepository):
    """Reset tokens in a dict."""

    def __init__(self) -> None:
        self.rows: dict[str, PasswordResetToken] = {}

    async def add(self, token: PasswordResetToken) -> None:
        self.rows[token.token_hash] = copy.copy(token)

    async def by_hash(self, token_hash: str) -> PasswordResetToken | None:
        found = self.rows.get(token_hash)
        return copy.copy(found) if found else None

    async def consume(self, token_id: UUID, now: datetime) -> bool:
        token = next(t for t in self.rows.values() if t.id == token_id)
        if not token.usable(now):
            return False
        token.used_at = now
        return True

    async def invalidate_for_user(self, user_id: UUID, now: datetime) -> None:
        for token in self.rows.values():
            if token.user_id == user_id and token.used_at is None:
                token.used_at = now


class FakeRoles(RoleRepository):
    """The test catalogue."""

    async def catalogue(self) -> RoleCatalogue:
        return CATALOGUE


class FakeAuditLog(AuditLog):
    """Entries in a list."""

    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    async def add(self, entry: AuditEntry) -> None:
        self.entries.append(entry)

    def _matching(self, criteria: AuditFilter) -> list[AuditEntry]:
        found = [
            e
            for e in self.entries
            if (criteria.user_id is None or e.user_id == criteria.user_id)
            and (not criteria.type or e.type == criteria.type)
            and (criteria.occurred_from is None or e.occurred_at >= criteria.occurred_from)
            and (criteria.occurred_to is None or e.occurred_at < criteria.occurred_to)
        ]
        return sorted(found, key=lambda e: (e.occurred_at, e.id), reverse=True)

    async def search(
        self, criteria: AuditFilter, after: Cursor | None, limit: int
    ) -> list[AuditEntry]:
        found = self._matching(criteria)
        if after is not None:
            found = [e for e in found if (e.occurred_at, e.id) < after]
        return found[:limit]

    async def count(self, criteria: AuditFilter) -> int:
        return len(self._matching(criteria))

    def types(self) -> list[str]:
        """Entry types in the order written."""
        return [entry.type.value for entry in self.entries]


class FakeTeaching(TeachingRepository):
    """Courses as dicts: instructor, published, students, rating."""

    def __init__(self) -> None:
        self.courses: dict[UUID, dict[str, Any]] = {}

    async def course_created(self, course_id: UUID, instructor_id: UUID) -> None:
        """Track the course."""
        self.courses.setdefault(
            course_id, {"instructor": instructor_id, "published": False, "students": 0}
        ).setdefault("rating", (0.0, 0))

    async def set_published(self, course_id: UUID, published: bool) -> None:
        """Flip the flag of a known course."""
        if course_id in self.courses:
            self.courses[course_id]["published"] = published

    async def add_students(self, course_id: UUID, delta: int) -> None:
        """Count."""
        if course_id in self.courses:
            self.courses[course_id]["students"] += delta

    async def set_rating(self, course_id: UUID, average: float, count: int) -> None:
        """Keep the aggregates."""
        if course_id in self.courses:
            self.courses[course_id]["rating"] = (average, count)

    async def stats(self, instructor_id: UUID) -> InstructorStats:
        """Totals over published courses."""
        mine = [
            c for c in self.courses.values() if c["instructor"] == instructor_id and c["published"]
        ]
        rated = sum(c["rating"][1] for c in mine)
        weighted = sum(c["rating"][0] * c["rating"][1] for c in mine)
        return InstructorStats(
            len(mine),
            sum(c["students"] for c in mine),
            round(weighted / rated, 2) if rated else 0.0,
            rated,
        )


class FakeThrottles(ThrottleRepository):
    """Throttle states in a dict."""

    def __init__(self) -> None:
        self.rows: dict[str, ThrottleState] = {}

    async def get(self, keys: Iterable[str]) -> dict[str, ThrottleState]:
        return {k: copy.copy(self.rows[k]) for k in keys if k in self.rows}

    async def save(self, states: Sequence[ThrottleState]) -> None:
        for state in states:
            self.rows[state.key] = copy.copy(state)

    async def clear(self, key: str) -> None:
        self.rows.pop(key, None)


class FakeUserUnitOfWork(UserUnitOfWork):
    """Commits by remembering the staged events; writes are visible at once (no isolation)."""

    users: FakeUserRepository
    sessions: FakeSessionRepository
    reset_tokens: FakeResetTokens
    audit: FakeAuditLog
    throttles: FakeThrottles

    def __init__(self) -> None:
        self.users = FakeUserRepository()
        self.sessions = FakeSessionRepository()
        self.reset_tokens = FakeResetTokens()
        self.roles = FakeRoles()
        self.audit = FakeAuditLog()
        self.throttles = FakeThrottles()
        self.teaching = FakeTeaching()
        self.published: list[RaisedEvent] = []
        self._staged: list[RaisedEvent] = []
        self.commits = 0

    async def _begin(self) -> None:
        self._staged = []
        self.users.seen = []
        self.sessions.seen = []

    async def _stage(self, events: list[RaisedEvent]) -> None:
        self._staged = events

    async def _commit(self) -> None:
        self.published.extend(self._staged)
        self.commits += 1

    async def rollback(self) -> None:
        self._staged = []

    def event_types(self) -> list[str]:
        """Names of the committed domain events, in order."""
        return [type(raised.event).__name__ for raised in self.published]
