"""The course schema as SQLAlchemy Core tables (the migrations create the same)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from kernel.db import UtcDateTime
from kernel.outbox import define_outbox_tables

metadata = sa.MetaData()
JsonList = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

categories = sa.Table(
    "categories",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("slug", sa.String(100), nullable=False, unique=True),
    sa.Column("parent_id", sa.Uuid, sa.ForeignKey("categories.id"), nullable=True),
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.Uuid, nullable=True),
    sa.Column("updated_by", sa.Uuid, nullable=True),
    sa.Column("deleted_at", UtcDateTime, nullable=True),
    sa.Column("deleted_by", sa.Uuid, nullable=True),
)

# Replica of instructor profiles, fed by user.* events (listings never call the user service).
instructor_profiles = sa.Table(
    "instructor_profiles",
    metadata,
    sa.Column("user_id", sa.Uuid, primary_key=True),
    sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("avatar_url", sa.String(2000), nullable=False, server_default=""),
    sa.Column("source_version", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

courses = sa.Table(
    "courses",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("slug", sa.String(100), nullable=False, unique=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("short_description", sa.String(500), nullable=False, server_default=""),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("thumbnail_url", sa.String(2000), nullable=False, server_default=""),
    sa.Column("preview_video_url", sa.String(2000), nullable=False, server_default=""),
    sa.Column("instructor_id", sa.Uuid, nullable=False),
    # Money in minor units (cents): exact on every backend.
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
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.Uuid, nullable=True),
    sa.Column("updated_by", sa.Uuid, nullable=True),
    sa.Column("deleted_at", UtcDateTime, nullable=True),
    sa.Column("deleted_by", sa.Uuid, nullable=True),
    sa.Index("ix_courses_instructor_id", "instructor_id"),
)

outbox, inbox = define_outbox_tables(metadata)
