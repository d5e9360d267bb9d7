"""The course schema as SQLAlchemy Core tables (the migrations create the same).

PostgreSQL additionally has `courses.search_vector`, a generated tsvector column that exists only
there (see migration 0002); queries reference it by name on that backend.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from kernel.db import UtcDateTime
from kernel.outbox import define_outbox_tables

metadata = sa.MetaData()
JsonList = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
LIVE = sa.text("deleted_at IS NULL")
CATALOGUE = sa.text("status = 'published' AND deleted_at IS NULL")


def _versioned() -> list[sa.Column[Any]]:
    return [
        sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("created_by", sa.Uuid, nullable=True),
        sa.Column("updated_by", sa.Uuid, nullable=True),
    ]


def _soft_delete() -> list[sa.Column[Any]]:
    return [
        sa.Column("deleted_at", UtcDateTime, nullable=True),
        sa.Column("deleted_by", sa.Uuid, nullable=True),
    ]


categories = sa.Table(
    "categories",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("slug", sa.String(100), nullable=False, unique=True),
    sa.Column("parent_id", sa.Uuid, sa.ForeignKey("categories.id"), nullable=True),
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),
    *_versioned(),
    *_soft_delete(),
    sa.Index("ix_categories_parent_id", "parent_id"),
)

# Replica of user profiles, fed by user.profile_updated (listings never call the user service).
instructor_profiles = sa.Table(
    "instructor_profiles",
    metadata,
    sa.Column("user_id", sa.Uuid, primary_key=True),
    sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("avatar_url", sa.String(2000), nullable=False, server_default=""),
    # Aggregate version of the last applied user event: older events are ignored.
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
    # Denormalised counters, kept by the writes that change them (in the same transaction).
    sa.Column("duration_seconds", sa.Integer, nullable=False, server_default="0"),
    sa.Column("lesson_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("enrollment_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("completion_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rating_average", sa.Float, nullable=False, server_default="0"),
    sa.Column("rating_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rating_sum", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("published_at", UtcDateTime, nullable=True),
    *_versioned(),
    *_soft_delete(),
    sa.Index("ix_courses_instructor_updated", "instructor_id", "updated_at", "id"),
    sa.Index("ix_courses_category_id", "category_id"),
    sa.Index(
        "ix_courses_catalogue_newest",
        "published_at",
        "id",
        sqlite_where=CATALOGUE,
        postgresql_where=CATALOGUE,
    ),
    sa.Index(
        "ix_courses_catalogue_popular",
        "enrollment_count",
        "id",
        sqlite_where=CATALOGUE,
        postgresql_where=CATALOGUE,
    ),
    sa.Index(
        "ix_courses_catalogue_rating",
        "rating_average",
        "id",
        sqlite_where=CATALOGUE,
        postgresql_where=CATALOGUE,
    ),
    sa.Index(
        "ix_courses_catalogue_price",
        "price_minor",
        "id",
        sqlite_where=CATALOGUE,
        postgresql_where=CATALOGUE,
    ),
)

sections = sa.Table(
    "sections",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("course_id", sa.Uuid, sa.ForeignKey("courses.id"), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    *_versioned(),
    *_soft_delete(),
    sa.Index("ix_sections_course_position", "course_id", "position"),
)

lessons = sa.Table(
    "lessons",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("course_id", sa.Uuid, sa.ForeignKey("courses.id"), nullable=False),
    sa.Column("section_id", sa.Uuid, sa.ForeignKey("sections.id"), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("video_url", sa.String(2000), nullable=False, server_default=""),
    sa.Column("video_provider", sa.String(40), nullable=False, server_default=""),
    sa.Column("thumbnail_url", sa.String(2000), nullable=False, server_default=""),
    sa.Column("duration_seconds", sa.Integer, nullable=False, server_default="0"),
    sa.Column("is_preview", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("transcript_url", sa.String(2000), nullable=False, server_default=""),
    sa.Column("resources", JsonList, nullable=False),
    *_versioned(),
    *_soft_delete(),
    sa.Index("ix_lessons_course_id", "course_id"),
    sa.Index("ix_lessons_section_position", "section_id", "position"),
)

quiz_questions = sa.Table(
    "quiz_questions",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("lesson_id", sa.Uuid, sa.ForeignKey("lessons.id"), nullable=False),
    sa.Column("course_id", sa.Uuid, sa.ForeignKey("courses.id"), nullable=False),
    sa.Column("prompt", sa.String(1000), nullable=False),
    sa.Column("options", JsonList, nullable=False),
    sa.Column("correct_option", sa.Integer, nullable=False),
    sa.Column("explanation", sa.Text, nullable=False, server_default=""),
    sa.Column("timestamp_seconds", sa.Integer, nullable=False, server_default="0"),
    *_versioned(),
    *_soft_delete(),
    sa.Index("ix_quiz_questions_lesson_timestamp", "lesson_id", "timestamp_seconds"),
    sa.Index("ix_quiz_questions_course_id", "course_id"),
)

quiz_attempts = sa.Table(
    "quiz_attempts",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("question_id", sa.Uuid, sa.ForeignKey("quiz_questions.id"), nullable=False),
    sa.Column("lesson_id", sa.Uuid, nullable=False),
    sa.Column("course_id", sa.Uuid, nullable=False),
    sa.Column("user_id", sa.Uuid, nullable=False),
    sa.Column("selected_option", sa.Integer, nullable=False),
    sa.Column("correct", sa.Boolean, nullable=False),
    sa.Column("time_spent_seconds", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_quiz_attempts_user_question", "user_id", "question_id"),
)

enrollments = sa.Table(
    "enrollments",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("course_id", sa.Uuid, sa.ForeignKey("courses.id"), nullable=False),
    sa.Column("user_id", sa.Uuid, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("progress_percent", sa.Float, nullable=False, server_default="0"),
    # Aggregate version of the last applied analytics progress event.
    sa.Column("progress_version", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("enrolled_at", UtcDateTime, nullable=False),
    sa.Column("activated_at", UtcDateTime, nullable=True),
    sa.Column("completed_at", UtcDateTime, nullable=True),
    sa.Column("cancelled_at", UtcDateTime, nullable=True),
    sa.Column("last_accessed_at", UtcDateTime, nullable=True),
    *_versioned(),
    sa.UniqueConstraint("user_id", "course_id", name="uq_enrollments_user_course"),
    sa.Index("ix_enrollments_user_enrolled", "user_id", "enrolled_at", "id"),
    sa.Index("ix_enrollments_course_enrolled", "course_id", "enrolled_at", "id"),
)

reviews = sa.Table(
    "reviews",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("course_id", sa.Uuid, sa.ForeignKey("courses.id"), nullable=False),
    sa.Column("user_id", sa.Uuid, nullable=False),
    sa.Column("rating", sa.SmallInteger, nullable=False),
    sa.Column("title", sa.String(200), nullable=False, server_default=""),
    sa.Column("comment", sa.Text, nullable=False, server_default=""),
    *_versioned(),
    *_soft_delete(),
    sa.Index(
        "uq_reviews_course_user_live",
        "course_id",
        "user_id",
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    ),
    sa.Index(
        "ix_reviews_course_created",
        "course_id",
        "created_at",
        "id",
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    ),
    sa.Index(
        "ix_reviews_course_rating",
        "course_id",
        "rating",
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    ),
)

outbox, inbox = define_outbox_tables(metadata)
