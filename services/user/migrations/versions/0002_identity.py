"""Accounts, credentials, roles and permissions (seeded), sessions, tokens, audit, throttling.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from kernel.db import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JsonObject = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

PERMISSIONS = {
    "course:create": "Create courses (the creator owns them)",
    "course:update": "Edit own courses",
    "course:publish": "Publish, unpublish and archive own courses",
    "course:delete": "Delete own courses",
    "course:read_drafts": "Read unpublished courses of any instructor",
    "course:restore": "Restore deleted courses",
    "category:manage": "Create, edit and delete categories",
    "enrollment:create": "Enrol in courses",
    "enrollment:activate": "Activate pending (paid) enrolments",
    "review:create": "Review courses one is enrolled in",
    "review:moderate": "Delete any review",
    "user:read": "Search and read accounts",
    "user:manage": "Edit, suspend and reactivate accounts",
    "user:manage_roles": "Grant and revoke roles",
    "audit:read": "Read the security audit trail",
    "analytics:view": "See the analytics of own courses",
    "analytics:view_platform": "See platform-wide metrics",
}
ROLES = {
    "super_admin": ("Everything, including granting super_admin", sorted(PERMISSIONS)),
    "admin": ("Everything an owner may do, on every resource", sorted(PERMISSIONS)),
    "instructor": (
        "Publishes courses; ownership is checked by the course service",
        ["analytics:view", "course:create", "course:delete", "course:publish", "course:update"],
    ),
    "student": (
        "Enrols, learns and reviews (every new account)",
        ["enrollment:create", "review:create"],
    ),
    "viewer": ("Read-only: browses the catalogue, cannot enrol or review", []),
}


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
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
    )
    # Case-insensitive uniqueness and login lookups.
    op.create_index("uq_users_email_normalized", "users", ["email_normalized"], unique=True)
    op.create_index("uq_users_username_normalized", "users", ["username_normalized"], unique=True)
    # Admin listing: newest first with a keyset on (created_at, id).
    op.create_index("ix_users_created_at_id", "users", ["created_at", "id"])
    op.create_table(
        "credentials",
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    roles = op.create_table(
        "roles",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("description", sa.String(200), nullable=False),
    )
    permissions = op.create_table(
        "permissions",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("description", sa.String(200), nullable=False),
    )
    role_permissions = op.create_table(
        "role_permissions",
        sa.Column("role_name", sa.String(32), sa.ForeignKey("roles.name"), primary_key=True),
        sa.Column(
            "permission_name", sa.String(64), sa.ForeignKey("permissions.name"), primary_key=True
        ),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("role_name", sa.String(32), sa.ForeignKey("roles.name"), primary_key=True),
        sa.Column("granted_at", UtcDateTime, nullable=False),
        sa.Column("granted_by", sa.Uuid, nullable=True),
    )
    # Filter by role and count super admins.
    op.create_index("ix_user_roles_role_name", "user_roles", ["role_name", "user_id"])
    op.create_table(
        "sessions",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("user_agent", sa.String(512), nullable=False, server_default=""),
        sa.Column("ip_address", sa.String(64), nullable=False, server_default=""),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("last_active_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("revoked_at", UtcDateTime, nullable=True),
        sa.Column("revoked_reason", sa.String(40), nullable=True),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("session_id", sa.Uuid, sa.ForeignKey("sessions.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("rotated_at", UtcDateTime, nullable=True),
    )
    op.create_index("uq_refresh_tokens_token_hash", "refresh_tokens", ["token_hash"], unique=True)
    op.create_index("ix_refresh_tokens_session_id", "refresh_tokens", ["session_id"])
    op.create_table(
        "password_reset_tokens",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("used_at", UtcDateTime, nullable=True),
    )
    op.create_index(
        "uq_password_reset_tokens_token_hash", "password_reset_tokens", ["token_hash"], unique=True
    )
    op.create_index("ix_password_reset_tokens_user_id", "password_reset_tokens", ["user_id"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("user_id", sa.Uuid, nullable=True),
        sa.Column("actor_id", sa.Uuid, nullable=True),
        sa.Column("session_id", sa.Uuid, nullable=True),
        sa.Column("ip_address", sa.String(64), nullable=False, server_default=""),
        sa.Column("user_agent", sa.String(512), nullable=False, server_default=""),
        sa.Column("details", JsonObject, nullable=False),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
    )
    # Newest-first keyset, and the two filters admins use most.
    op.create_index("ix_audit_events_occurred_at_id", "audit_events", ["occurred_at", "id"])
    op.create_index("ix_audit_events_user_id", "audit_events", ["user_id", "occurred_at"])
    op.create_index("ix_audit_events_event_type", "audit_events", ["event_type", "occurred_at"])
    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_failure_at", UtcDateTime, nullable=True),
        sa.Column("locked_until", UtcDateTime, nullable=True),
    )
    op.bulk_insert(permissions, [{"name": n, "description": d} for n, d in PERMISSIONS.items()])
    op.bulk_insert(roles, [{"name": n, "description": d} for n, (d, _) in ROLES.items()])
    op.bulk_insert(
        role_permissions,
        [
            {"role_name": role, "permission_name": permission}
            for role, (_, granted) in ROLES.items()
            for permission in granted
        ],
    )


def downgrade() -> None:
    op.drop_table("login_throttles")
    op.drop_index("ix_audit_events_event_type", table_name="audit_events")
    op.drop_index("ix_audit_events_user_id", table_name="audit_events")
    op.drop_index("ix_audit_events_occurred_at_id", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index("ix_password_reset_tokens_user_id", table_name="password_reset_tokens")
    op.drop_index("uq_password_reset_tokens_token_hash", table_name="password_reset_tokens")
    op.drop_table("password_reset_tokens")
    op.drop_index("ix_refresh_tokens_session_id", table_name="refresh_tokens")
    op.drop_index("uq_refresh_tokens_token_hash", table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_index("ix_sessions_user_id", table_name="sessions")
    op.drop_table("sessions")
    op.drop_index("ix_user_roles_role_name", table_name="user_roles")
    op.drop_table("user_roles")
    op.drop_table("role_permissions")
    op.drop_table("permissions")
    op.drop_table("roles")
    op.drop_table("credentials")
    op.drop_index("ix_users_created_at_id", table_name="users")
    op.drop_index("uq_users_username_normalized", table_name="users")
    op.drop_index("uq_users_email_normalized", table_name="users")
    op.drop_table("users")
