"""Courses, categories, the instructor replica, outbox and inbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from kernel.db import UtcDateTime
from kernel.migration_ops import create_outbox_and_inbox_v1, drop_outbox_and_inbox_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JsonList = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _audit_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("created_by", sa.Uuid, nullable=True),
        sa.Column("updated_by", sa.Uuid, nullable=True),
        sa.Column("deleted_at", UtcDateTime, nullable=True),
        sa.Column("deleted_by", sa.Uuid, nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "categories",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False, unique=True),
        sa.Column("parent_id", sa.Uuid, sa.ForeignKey("categories.id"), nullable=True),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        *_audit_columns(),
    )
    op.create_table(
        "instructor_profiles",
        sa.Column("user_id", sa.Uuid, primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("avatar_url", sa.String(2000), nullable=False, server_default=""),
        sa.Column("source_version", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "courses",
        sa.Column("id", sa.Uuid, primary_key=True),
        # Unique index on slug: GetCourse by slug and slug allocation.
        sa.Column("slug", sa.String(100), nullable=False, unique=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("short_description", sa.String(500), nullable=False, server_default=""),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("thumbnail_url", sa.String(2000), nullable=False, server_default=""),
        sa.Column("preview_video_url", sa.String(2000), nullable=False, server_default=""),
        sa.Column("instructor_id", sa.Uuid, nullable=False),
        sa.Column("price_minor", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("discount_price_minor", sa.BigInteger, nullable=True),
        sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
        sa.Column("difficulty", sa.String(20), nullable=True),
        sa.Column("language", sa.String(16), nullable=False, server_default="en"),
        sa.Column("category_id", sa.Uuid, sa.ForeignKey("categories.id"), nullable=True),
        sa.Column("tags", JsonList, nullable=False),
        sa.Column("prerequisites", JsonList, nullable=False),
        sa.Column("learning_outcomes", JsonList, nullable=False),
        sa.Column("target_audience", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("duration_seconds", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lesson_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("enrollment_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("completion_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rating_average", sa.Float, nullable=False, server_default="0"),
        sa.Column("rating_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("published_at", UtcDateTime, nullable=True),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
        *_audit_columns(),
    )
    # "My teaching" and instructor filters.
    op.create_index("ix_courses_instructor_id", "courses", ["instructor_id"])
    create_outbox_and_inbox_v1()


def downgrade() -> None:
    drop_outbox_and_inbox_v1()
    op.drop_index("ix_courses_instructor_id", table_name="courses")
    op.drop_table("courses")
    op.drop_table("instructor_profiles")
    op.drop_table("categories")
