"""SQL for the user service: rows <-> domain objects, one query per relation, no per-row queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.clock import utc_now
from kernel.errors import Conflict
from services.user.adapters.tables import (
    audit_events,
    credentials,
    login_throttles,
    password_reset_tokens,
    refresh_tokens,
    role_permissions,
    roles,
    sessions,
    teaching,
    user_roles,
    users,
)
from services.user.domain.errors import EmailAlreadyRegistered, UsernameTaken
from services.user.domain.model import (
    SUPER_ADMIN,
    AuditEntry,
    AuditType,
    ClientInfo,
    InstructorStats,
    PasswordResetToken,
    RefreshToken,
    RoleCatalogue,
    RoleDefinition,
    Session,
    User,
    UserStatus,
)
from services.user.domain.throttling import ThrottleState
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
)


def _like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with its wildcards taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _newest_first_after(
    moment: sa.ColumnElement[Any], key: sa.ColumnElement[Any], after: Cursor
) -> sa.ColumnElement[bool]:
    """Keyset condition for rows after `after` in (moment DESC, key DESC) order."""
    return sa.or_(moment < after[0], sa.and_(moment == after[0], key < after[1]))


def user_row(user: User) -> dict[str, Any]:
    """Column values of an account (roles live in `user_roles`)."""
    return {
        "id": user.id,
        "email": user.email,
        "email_normalized": user.email_normalized,
        "username": user.username,
        "username_normalized": user.username_normalized,
        "full_name": user.full_name,
        "display_name": user.display_name,
        "avatar_url": user.avatar_url,
        "bio": user.bio,
        "timezone": user.timezone,
        "language": user.language,
        "status": user.status.value,
        "email_verified": user.email_verified,
        "last_login_at": user.last_login_at,
        "version": user.version,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "created_by": user.created_by,
        "updated_by": user.updated_by,
        "deleted_at": user.deleted_at,
        "deleted_by": user.deleted_by,
    }


def user_from_row(row: Any, granted: Iterable[str]) -> User:
    """An account aggregate from a `users` row and its role names."""
    return User(
        id=row.id,
        email=row.email,
        username=row.username,
        full_name=row.full_name,
        display_name=row.display_name,
        avatar_url=row.avatar_url,
        bio=row.bio,
        timezone=row.timezone,
        language=row.language,
        status=UserStatus(row.status),
        email_verified=row.email_verified,
        roles=set(granted),
        last_login_at=row.last_login_at,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        created_by=row.created_by,
        updated_by=row.updated_by,
        deleted_at=row.deleted_at,
        deleted_by=row.deleted_by,
    )


def _raise_duplicate(exc: IntegrityError, user: User) -> None:
    """Raise the domain error for a unique-index violation on an account, if it is one."""
    message = str(exc.orig).lower()
    if "email_normalized" in message:
        raise EmailAlreadyRegistered() from exc
    if "username_normalized" in message:
        raise UsernameTaken(user.username or "") from exc


class SqlUserRepository(UserRepository):
    """Accounts in `users`, their roles in `user_roles`, passwords in `credentials`."""

    def __init__(self, connection: AsyncConnection) -> None:
        super().__init__()
        self._connection = connection
        # Version and roles as read, to write an optimistic update and the role difference.
        self._loaded: dict[UUID, tuple[int, frozenset[str]]] = {}

    def _hand_out(self, user: User) -> User:
        self._loaded[user.id] = (user.version, frozenset(user.roles))
        tracked: User = self._track(user)
        return tracked

    async def _role_rows(self, user: User) -> None:
        rows = [
            {
                "user_id": user.id,
                "role_name": role,
                "granted_at": user.updated_at,
                "granted_by": user.updated_by,
            }
            for role in sorted(user.roles - self._loaded.get(user.id, (0, frozenset()))[1])
        ]
        if rows:
            await self._connection.execute(sa.insert(user_roles), rows)

    async def add(self, user: User, password_hash: str | None) -> None:
        """Insert the account, its roles and its password hash."""
        try:
            await self._connection.execute(sa.insert(users).values(user_row(user)))
        except IntegrityError as exc:
            _raise_duplicate(exc, user)
            raise
        await self._role_rows(user)
        if password_hash is not None:
            await self._connection.execute(
                sa.insert(credentials).values(
                    user_id=user.id,
                    password_hash=password_hash,
                    created_at=user.created_at,
                    updated_at=user.created_at,
                )
            )
        self._hand_out(user)

    async def _select(
        self,
        *conditions: sa.ColumnElement[bool],
        order: Sequence[sa.ColumnElement[Any]] = (),
        limit: int | None = None,
    ) -> list[User]:
        """Accounts matching the conditions, with their roles in one more query."""
        query = sa.select(users).where(*conditions).order_by(*order).limit(limit)
        rows = (await self._connection.execute(query)).all()
        if not rows:
            return []
        granted: dict[UUID, list[str]] = defaultdict(list)
        role_rows = await self._connection.execute(
            sa.select(user_roles.c.user_id, user_roles.c.role_name).where(
                user_roles.c.user_id.in_([row.id for row in rows])
            )
        )
        for user_id, role in role_rows:
            granted[user_id].append(role)
        return [self._hand_out(user_from_row(row, granted[row.id])) for row in rows]

    async def _select_one(self, unique: sa.ColumnElement[bool]) -> User | None:
        """One account by a unique column, with its roles, in one statement (a row per role):
        the path of every signed-in request (GET /me) and of every login."""
        rows = (
            await self._connection.execute(
                sa.select(users, user_roles.c.role_name)
                .select_from(users.outerjoin(user_roles, user_roles.c.user_id == users.c.id))
                .where(unique)
            )
        ).all()
        if not rows:
            return None
        roles = [row.role_name for row in rows if row.role_name is not None]
        return self._hand_out(user_from_row(rows[0], roles))

    async def get(self, user_id: UUID) -> User | None:
        """By primary key."""
        return await self._select_one(users.c.id == user_id)

    async def get_by_email(self, email_normalized: str) -> User | None:
        """By the unique lowercased email."""
        return await self._select_one(users.c.email_normalized == email_normalized)

    async def save(self, user: User) -> None:
        """Optimistic update of the row, then the role difference."""
        loaded_version, loaded_roles = self._loaded[user.id]
        values = user_row(user)
        del values["id"], values["created_at"], values["created_by"]
        try:
            result = await self._connection.execute(
                sa.update(users)
                .where(users.c.id == user.id, users.c.version == loaded_version)
                .values(values)
            )
        except IntegrityError as exc:
            _raise_duplicate(exc, user)
            raise
        if result.rowcount != 1:
            raise Conflict("The account changed meanwhile; reload it and try again")
        removed = loaded_roles - user.roles
        if removed:
            await self._connection.execute(
                sa.delete(user_roles).where(
                    user_roles.c.user_id == user.id, user_roles.c.role_name.in_(sorted(removed))
                )
            )
        await self._role_rows(user)
        self._loaded[user.id] = (user.version, frozenset(user.roles))

    async def password_hash(self, user_id: UUID) -> str | None:
        """The stored hash."""
        value: str | None = await self._connection.scalar(
            sa.select(credentials.c.password_hash).where(credentials.c.user_id == user_id)
        )
        return value

    async def set_password_hash(self, user_id: UUID, password_hash: str, now: datetime) -> None:
        """Update the hash (insert it for an account that had none)."""
        result = await self._connection.execute(
            sa.update(credentials)
            .where(credentials.c.user_id == user_id)
            .values(password_hash=password_hash, updated_at=now)
        )
        if result.rowcount == 0:
            await self._connection.execute(
                sa.insert(credentials).values(
                    user_id=user_id, password_hash=password_hash, created_at=now, updated_at=now
                )
            )

    async def remove_password(self, user_id: UUID) -> None:
        """Delete the credentials row."""
        await self._connection.execute(
            sa.delete(credentials).where(credentials.c.user_id == user_id)
        )

    @staticmethod
    def _conditions(criteria: UserFilter) -> list[sa.ColumnElement[bool]]:
        conditions: list[sa.ColumnElement[bool]] = []
        if criteria.q:
            pattern = _like_pattern(criteria.q)
            conditions.append(
                sa.or_(
                    users.c.email_normalized.like(pattern, escape="\\"),
                    users.c.username_normalized.like(pattern, escape="\\"),
                    sa.func.lower(users.c.full_name).like(pattern, escape="\\"),
                    sa.func.lower(users.c.display_name).like(pattern, escape="\\"),
                )
            )
        if criteria.role:
            conditions.append(
                users.c.id.in_(
                    sa.select(user_roles.c.user_id).where(user_roles.c.role_name == criteria.role)
                )
            )
        if criteria.status is not None:
            conditions.append(users.c.status == criteria.status.value)
        return conditions

    async def search(self, criteria: UserFilter, after: Cursor | None, limit: int) -> list[User]:
        """Newest first: (created_at, id) descending."""
        conditions = self._conditions(criteria)
        if after is not None:
            conditions.append(_newest_first_after(users.c.created_at, users.c.id, after))
        return await self._select(
            *conditions, order=(users.c.created_at.desc(), users.c.id.desc()), limit=limit
        )

    async def count(self, criteria: UserFilter) -> int:
        """Matching accounts over all pages."""
        query = sa.select(sa.func.count()).select_from(users).where(*self._conditions(criteria))
        return int(await self._connection.scalar(query) or 0)

    async def active_super_admins(self) -> set[UUID]:
        """Locks the super_admin role rows (PostgreSQL) so two revocations cannot both pass."""
        query = (
            sa.select(user_roles.c.user_id)
            .join(users, users.c.id == user_roles.c.user_id)
            .where(
                user_roles.c.role_name == SUPER_ADMIN,
                users.c.status == UserStatus.ACTIVE.value,
            )
            .with_for_update(of=user_roles)
        )
        return set((await self._connection.execute(query)).scalars())


def session_row(session: Session) -> dict[str, Any]:
    """Column values of a session."""
    return {
        "id": session.id,
        "user_id": session.user_id,
        "user_agent": session.user_agent,
        "ip_address": session.ip_address,
        "created_at": session.created_at,
        "last_active_at": session.last_active_at,
        "expires_at": session.expires_at,
        "revoked_at": session.revoked_at,
        "revoked_reason": session.revoked_reason,
    }


def session_from_row(row: Any) -> Session:
    """A session aggregate from a `sessions` row."""
    return Session(
        id=row.id,
        user_id=row.user_id,
        user_agent=row.user_agent,
        ip_address=row.ip_address,
        created_at=row.created_at,
        last_active_at=row.last_active_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        revoked_reason=row.revoked_reason,
    )


class SqlSessionRepository(SessionRepository):
    """Sessions in `sessions`, refresh tokens in `refresh_tokens`."""

    def __init__(self, connection: AsyncConnection) -> None:
        super().__init__()
        self._connection = connection

    async def add(self, session: Session) -> None:
        """Insert."""
        await self._connection.execute(sa.insert(sessions).values(session_row(session)))
        self._track(session)

    async def get(self, session_id: UUID) -> Session | None:
        """By primary key."""
        row = (
            await self._connection.execute(sa.select(sessions).where(sessions.c.id == session_id))
        ).first()
        return self._track(session_from_row(row)) if row else None

    async def live_for_user(self, user_id: UUID, now: datetime) -> list[Session]:
        """Neither revoked nor expired, newest first."""
        rows = await self._connection.execute(
            sa.select(sessions)
            .where(
                sessions.c.user_id == user_id,
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > now,
            )
            .order_by(sessions.c.created_at.desc(), sessions.c.id.desc())
        )
        return [self._track(session_from_row(row)) for row in rows]

    async def save(self, session: Session) -> None:
        """Activity, expiry and revocation."""
        await self._connection.execute(
            sa.update(sessions)
            .where(sessions.c.id == session.id)
            .values(
                last_active_at=session.last_active_at,
                expires_at=session.expires_at,
                revoked_at=session.revoked_at,
                revoked_reason=session.revoked_reason,
            )
        )

    async def save_revocations(self, revoked: Sequence[Session]) -> None:
        """One UPDATE per (time, reason): sessions revoked together share both."""
        groups: dict[tuple[datetime | None, str | None], list[UUID]] = defaultdict(list)
        for session in revoked:
            groups[(session.revoked_at, session.revoked_reason)].append(session.id)
        for (revoked_at, reason), ids in groups.items():
            await self._connection.execute(
                sa.update(sessions)
                .where(sessions.c.id.in_(ids))
                .values(revoked_at=revoked_at, revoked_reason=reason)
            )

    async def add_refresh_token(self, token: RefreshToken) -> None:
        """Insert a token digest."""
        await self._connection.execute(
            sa.insert(refresh_tokens).values(
                id=token.id,
                session_id=token.session_id,
                token_hash=token.token_hash,
                created_at=token.created_at,
                expires_at=token.expires_at,
                rotated_at=token.rotated_at,
            )
        )

    async def refresh_token_by_hash(self, token_hash: str) -> RefreshToken | None:
        """By the unique digest."""
        row = (
            await self._connection.execute(
                sa.select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash)
            )
        ).first()
        if row is None:
            return None
        return RefreshToken(
            id=row.id,
            session_id=row.session_id,
            token_hash=row.token_hash,
            created_at=row.created_at,
            expires_at=row.expires_at,
            rotated_at=row.rotated_at,
        )

    async def mark_rotated(self, token_id: UUID, now: datetime) -> bool:
        """Conditional update: of two concurrent refreshes with one token, one wins."""
        result = await self._connection.execute(
            sa.update(refresh_tokens)
            .where(refresh_tokens.c.id == token_id, refresh_tokens.c.rotated_at.is_(None))
            .values(rotated_at=now)
        )
        return bool(result.rowcount == 1)


class SqlResetTokenRepository(ResetTokenRepository):
    """Password-reset tokens in `password_reset_tokens`."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, token: PasswordResetToken) -> None:
        """Insert a token digest."""
        await self._connection.execute(
            sa.insert(password_reset_tokens).values(
                id=token.id,
                user_id=token.user_id,
                token_hash=token.token_hash,
                created_at=token.created_at,
                expires_at=token.expires_at,
                used_at=token.used_at,
            )
        )

    async def by_hash(self, token_hash: str) -> PasswordResetToken | None:
        """By the unique digest."""
        row = (
            await self._connection.execute(
                sa.select(password_reset_tokens).where(
                    password_reset_tokens.c.token_hash == token_hash
                )
            )
        ).first()
        if row is None:
            return None
        return PasswordResetToken(
            id=row.id,
            user_id=row.user_id,
            token_hash=row.token_hash,
            created_at=row.created_at,
            expires_at=row.expires_at,
            used_at=row.used_at,
        )

    async def consume(self, token_id: UUID, now: datetime) -> bool:
        """Conditional update: a token is used once, even by concurrent requests."""
        table = password_reset_tokens
        result = await self._connection.execute(
            sa.update(table)
            .where(table.c.id == token_id, table.c.used_at.is_(None), table.c.expires_at > now)
            .values(used_at=now)
        )
        return bool(result.rowcount == 1)

    async def invalidate_for_user(self, user_id: UUID, now: datetime) -> None:
        """Mark every unused token of the user used."""
        table = password_reset_tokens
        await self._connection.execute(
            sa.update(table)
            .where(table.c.user_id == user_id, table.c.used_at.is_(None))
            .values(used_at=now)
        )


class RoleCatalogueMemo:
    """The role catalogue of one process, loaded on first use.

    Roles and their permissions are reference data that only migrations change, and a
    migration ships with a restart; every signed-in request needs them (effective permissions).
    """

    def __init__(self) -> None:
        self.catalogue: RoleCatalogue | None = None


class SqlRoleRepository(RoleRepository):
    """The role catalogue: `roles` joined to `role_permissions` in one query."""

    def __init__(self, connection: AsyncConnection, memo: RoleCatalogueMemo) -> None:
        self._connection = connection
        self._memo = memo

    async def catalogue(self) -> RoleCatalogue:
        """Every role and its permissions (read once per process, see RoleCatalogueMemo)."""
        if self._memo.catalogue is None:
            self._memo.catalogue = await self._load()
        return self._memo.catalogue

    async def _load(self) -> RoleCatalogue:
        rows = await self._connection.execute(
            sa.select(roles.c.name, roles.c.description, role_permissions.c.permission_name)
            .select_from(roles.outerjoin(role_permissions))
            .order_by(roles.c.name)
        )
        descriptions: dict[str, str] = {}
        granted: dict[str, set[str]] = defaultdict(set)
        for name, description, permission in rows:
            descriptions[name] = description
            if permission is not None:
                granted[name].add(permission)
        return RoleCatalogue(
            {
                name: RoleDefinition(name, description, frozenset(granted[name]))
                for name, description in descriptions.items()
            }
        )


class SqlAuditLog(AuditLog):
    """The audit trail in `audit_events`."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, entry: AuditEntry) -> None:
        """Insert an entry."""
        await self._connection.execute(
            sa.insert(audit_events).values(
                id=entry.id,
                event_type=entry.type.value,
                user_id=entry.user_id,
                actor_id=entry.actor_id,
                session_id=entry.session_id,
                ip_address=entry.client.ip_address[:64],
                user_agent=entry.client.user_agent[:512],
                details=dict(entry.details),
                occurred_at=entry.occurred_at,
            )
        )

    @staticmethod
    def _conditions(criteria: AuditFilter) -> list[sa.ColumnElement[bool]]:
        table = audit_events
        conditions: list[sa.ColumnElement[bool]] = []
        if criteria.user_id is not None:
            conditions.append(table.c.user_id == criteria.user_id)
        if criteria.type:
            conditions.append(table.c.event_type == criteria.type)
        if criteria.occurred_from is not None:
            conditions.append(table.c.occurred_at >= criteria.occurred_from)
        if criteria.occurred_to is not None:
            conditions.append(table.c.occurred_at < criteria.occurred_to)
        return conditions

    async def search(
        self, criteria: AuditFilter, after: Cursor | None, limit: int
    ) -> list[AuditEntry]:
        """Newest first: (occurred_at, id) descending."""
        table = audit_events
        conditions = self._conditions(criteria)
        if after is not None:
            conditions.append(_newest_first_after(table.c.occurred_at, table.c.id, after))
        rows = await self._connection.execute(
            sa.select(table)
            .where(*conditions)
            .order_by(table.c.occurred_at.desc(), table.c.id.desc())
            .limit(limit)
        )
        return [
            AuditEntry(
                id=row.id,
                type=AuditType(row.event_type),
                occurred_at=row.occurred_at,
                user_id=row.user_id,
                actor_id=row.actor_id,
                session_id=row.session_id,
                client=ClientInfo(ip_address=row.ip_address, user_agent=row.user_agent),
                details=dict(row.details),
            )
            for row in rows
        ]

    async def count(self, criteria: AuditFilter) -> int:
        """Matching entries over all pages."""
        query = (
            sa.select(sa.func.count()).select_from(audit_events).where(*self._conditions(criteria))
        )
        return int(await self._connection.scalar(query) or 0)


class SqlThrottleRepository(ThrottleRepository):
    """Login-throttle counters in `login_throttles`."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, keys: Iterable[str]) -> dict[str, ThrottleState]:
        """The states of the keys that have one."""
        rows = await self._connection.execute(
            sa.select(login_throttles).where(login_throttles.c.key.in_(list(keys)))
        )
        return {
            row.key: ThrottleState(
                key=row.key,
                failures=row.failures,
                last_failure_at=row.last_failure_at,
                locked_until=row.locked_until,
            )
            for row in rows
        }

    async def save(self, states: Sequence[ThrottleState]) -> None:
        """Upsert (two first failures of one key may race)."""
        if not states:
            return
        dialect = postgresql if self._connection.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(login_throttles).values(
            [
                {
                    "key": state.key,
                    "failures": state.failures,
                    "last_failure_at": state.last_failure_at,
                    "locked_until": state.locked_until,
                }
                for state in states
            ]
        )
        await self._connection.execute(
            statement.on_conflict_do_update(
                index_elements=[login_throttles.c.key],
                set_={
                    "failures": statement.excluded.failures,
                    "last_failure_at": statement.excluded.last_failure_at,
                    "locked_until": statement.excluded.locked_until,
                },
            )
        )

    async def clear(self, key: str) -> None:
        """Forget the key's failures."""
        await self._connection.execute(
            sa.delete(login_throttles).where(login_throttles.c.key == key)
        )


class SqlTeachingRepository(TeachingRepository):
    """The `teaching` replica: one row per course, each change one statement."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def course_created(self, course_id: UUID, instructor_id: UUID) -> None:
        """Insert unless present."""
        dialect = postgresql if self._connection.dialect.name == "postgresql" else sqlite
        await self._connection.execute(
            dialect.insert(teaching)
            .values(course_id=course_id, instructor_id=instructor_id, updated_at=utc_now())
            .on_conflict_do_nothing(index_elements=[teaching.c.course_id])
        )

    async def set_published(self, course_id: UUID, published: bool) -> None:
        """Flip the flag."""
        await self._update(course_id, published=published)

    async def add_students(self, course_id: UUID, delta: int) -> None:
        """Count in SQL: no read-modify-write."""
        await self._update(course_id, enrollment_count=teaching.c.enrollment_count + delta)

    async def set_rating(self, course_id: UUID, average: float, count: int) -> None:
        """The course's aggregates as the course service computed them."""
        await self._update(course_id, rating_average=average, rating_count=count)

    async def stats(self, instructor_id: UUID) -> InstructorStats:
        """One aggregate over the instructor's published courses."""
        courses, students, rated, weighted = (
            await self._connection.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.coalesce(sa.func.sum(teaching.c.enrollment_count), 0),
                    sa.func.coalesce(sa.func.sum(teaching.c.rating_count), 0),
                    sa.func.coalesce(
                        sa.func.sum(teaching.c.rating_average * teaching.c.rating_count), 0.0
                    ),
                ).where(teaching.c.instructor_id == instructor_id, teaching.c.published)
            )
        ).one()
        average = round(float(weighted) / int(rated), 2) if rated else 0.0
        return InstructorStats(int(courses), int(students), average, int(rated))

    async def _update(self, course_id: UUID, **values: Any) -> None:
        await self._connection.execute(
            sa.update(teaching)
            .where(teaching.c.course_id == course_id)
            .values(**values, updated_at=utc_now())
        )
