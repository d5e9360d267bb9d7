"""The identity schema as SQLAlchemy Core tables (the migrations create the same)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from kernel.db import UtcDateTime
from kernel.outbox import define_outbox_tables

metadata = sa.MetaData()
JsonObject = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("email", sa.String(320), nullable=False),
    # Lowercased email: the unique index makes emails unique case-insensitively.
    sa.Column("email_normalized", sa.String(320), nullable=False),
    sa.Column("username", sa.String(30), nullable=True),
    sa.Column("username_normalized", sa.String(30), nullable=True),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("display_name", sa.String(100), nullable=False),
    sa.Column("avatar_url", sa.String(2000), nullable=False, server_default=""),
    sa.Column("bio", sa.Text, nullable=False, server_default=""),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
    sa.Column("language", sa.String(16), nullable=False, server_default="en"),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("email_verified", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("last_login_at", UtcDateTime, nullable=True),
    sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.Uuid, nullable=True),
    sa.Column("updated_by", sa.Uuid, nullable=True),
    sa.Column("deleted_at", UtcDateTime, nullable=True),
    sa.Column("deleted_by", sa.Uuid, nullable=True),
    sa.Index("uq_users_email_normalized", "email_normalized", unique=True),
    sa.Index("uq_users_username_normalized", "username_normalized", unique=True),
    sa.Index("ix_users_created_at_id", "created_at", "id"),
)

credentials = sa.Table(
    "credentials",
    metadata,
    sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

roles = sa.Table(
    "roles",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("description", sa.String(200), nullable=False),
)

permissions = sa.Table(
    "permissions",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("description", sa.String(200), nullable=False),
)

role_permissions = sa.Table(
    "role_permissions",
    metadata,
    sa.Column("role_name", sa.String(32), sa.ForeignKey("roles.name"), primary_key=True),
    sa.Column(
        "permission_name", sa.String(64), sa.ForeignKey("permissions.name"), primary_key=True
    ),
)

user_roles = sa.Table(
    "user_roles",
    metadata,
    sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("role_name", sa.String(32), sa.ForeignKey("roles.name"), primary_key=True),
    sa.Column("granted_at", UtcDateTime, nullable=False),
    sa.Column("granted_by", sa.Uuid, nullable=True),
    sa.Index("ix_user_roles_role_name", "role_name", "user_id"),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("user_agent", sa.String(512), nullable=False, server_default=""),
    sa.Column("ip_address", sa.String(64), nullable=False, server_default=""),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_active_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("revoked_at", UtcDateTime, nullable=True),
    sa.Column("revoked_reason", sa.String(40), nullable=True),
    sa.Index("ix_sessions_user_id", "user_id"),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("session_id", sa.Uuid, sa.ForeignKey("sessions.id"), nullable=False),
    # SHA-256 hex of the token; the token itself is never stored.
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("rotated_at", UtcDateTime, nullable=True),
    sa.Index("uq_refresh_tokens_token_hash", "token_hash", unique=True),
    sa.Index("ix_refresh_tokens_session_id", "session_id"),
)

password_reset_tokens = sa.Table(
    "password_reset_tokens",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("used_at", UtcDateTime, nullable=True),
    sa.Index("uq_password_reset_tokens_token_hash", "token_hash", unique=True),
    sa.Index("ix_password_reset_tokens_user_id", "user_id"),
)

# No foreign keys: the trail outlives what it mentions (and failed logins name no user).
audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("event_type", sa.String(50), nullable=False),
    sa.Column("user_id", sa.Uuid, nullable=True),
    sa.Column("actor_id", sa.Uuid, nullable=True),
    sa.Column("session_id", sa.Uuid, nullable=True),
    sa.Column("ip_address", sa.String(64), nullable=False, server_default=""),
    sa.Column("user_agent", sa.String(512), nullable=False, server_default=""),
    sa.Column("details", JsonObject, nullable=False),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Index("ix_audit_events_occurred_at_id", "occurred_at", "id"),
    sa.Index("ix_audit_events_user_id", "user_id", "occurred_at"),
    sa.Index("ix_audit_events_event_type", "event_type", "occurred_at"),
)

# Failed-login counters per key ("account:<email>", "ip:<address>").
login_throttles = sa.Table(
    "login_throttles",
    metadata,
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failure_at", UtcDateTime, nullable=True),
    sa.Column("locked_until", UtcDateTime, nullable=True),
)

# Replica of the course service's facts per course, for instructor stats (migration 0003).
teaching = sa.Table(
    "teaching",
    metadata,
    sa.Column("course_id", sa.Uuid, primary_key=True),
    sa.Column("instructor_id", sa.Uuid, nullable=False, index=True),
    sa.Column("published", sa.Boolean, nullable=False, default=False),
    sa.Column("enrollment_count", sa.Integer, nullable=False, default=0),
    sa.Column("rating_average", sa.Float, nullable=False, default=0.0),
    sa.Column("rating_count", sa.Integer, nullable=False, default=0),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

outbox, inbox = define_outbox_tables(metadata)
