"""Outline, quizzes, enrolments, reviews; catalogue indexes and full-text search.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Which index serves which query (adapters/repository.py, adapters/queries.py):
- ix_courses_catalogue_{newest,popular,rating,price}: ListCourses keyset pages per orderBy
  (partial on published, live courses; scanned backwards for descending orders); the price one
  also serves minPrice/maxPrice/isFree.
- ix_courses_category_id: the categoryId filter and CATEGORY_NOT_EMPTY.
- ix_courses_instructor_updated: GET /me/teaching pages and the instructorId filter
  (replaces 0001's ix_courses_instructor_id).
- ix_courses_search (PostgreSQL, GIN on the generated search_vector): q full-text search.
- ix_courses_tags (PostgreSQL, GIN jsonb_path_ops): the tag filter (`tags @> '["rust"]'`).
- ix_categories_parent_id: CATEGORY_NOT_EMPTY (children).
- ix_sections_course_position, ix_lessons_section_position: outlines in order, one query each.
- ix_lessons_course_id: lesson totals and duplication of a course's lessons.
- ix_quiz_questions_lesson_timestamp: a lesson's questions in video order;
  ix_quiz_questions_course_id: duplication.
- ix_quiz_attempts_user_question: a student's attempts at a question.
- uq_enrollments_user_course: one enrolment per student and course; viewer state, access checks.
- ix_enrollments_user_enrolled / ix_enrollments_course_enrolled: my enrolments / students pages.
- uq_reviews_course_user_live: one live review per student and course.
- ix_reviews_course_created: review pages newest first; ix_reviews_course_rating: the histogram.
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from kernel.db import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JsonList = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
LIVE = sa.text("deleted_at IS NULL")
CATALOGUE = sa.text("status = 'published' AND deleted_at IS NULL")
CATALOGUE_INDEXES = {
    "ix_courses_catalogue_newest": "published_at",
    "ix_courses_catalogue_popular": "enrollment_count",
    "ix_courses_catalogue_rating": "rating_average",
    "ix_courses_catalogue_price": "price_minor",
}


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


def upgrade() -> None:
    is_postgres = op.get_bind().dialect.name == "postgresql"
    # Exact running sum of ratings, so review writes update the average atomically.
    op.add_column(
        "courses", sa.Column("rating_sum", sa.BigInteger, nullable=False, server_default="0")
    )
    op.drop_index("ix_courses_instructor_id", table_name="courses")
    op.create_index(
        "ix_courses_instructor_updated", "courses", ["instructor_id", "updated_at", "id"]
    )
    op.create_index("ix_courses_category_id", "courses", ["category_id"])
    for name, column in CATALOGUE_INDEXES.items():
        op.create_index(
            name,
            "courses",
            [column, "id"],
            sqlite_where=CATALOGUE,
            postgresql_where=CATALOGUE,
        )
    if is_postgres:
        op.execute(
            "ALTER TABLE courses ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
            " setweight(to_tsvector('simple', title), 'A')"
            " || setweight(jsonb_to_tsvector('simple', tags, '[\"string\"]'), 'B')"
            " || setweight(to_tsvector('simple', short_description || ' ' || description), 'C')"
            ") STORED"
        )
        op.create_index("ix_courses_search", "courses", ["search_vector"], postgresql_using="gin")
        op.create_index(
            "ix_courses_tags",
            "courses",
            ["tags"],
            postgresql_using="gin",
            postgresql_ops={"tags": "jsonb_path_ops"},
        )
    op.create_index("ix_categories_parent_id", "categories", ["parent_id"])

    op.create_table(
        "sections",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("course_id", sa.Uuid, sa.ForeignKey("courses.id"), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        *_versioned(),
        *_soft_delete(),
    )
    op.create_index("ix_sections_course_position", "sections", ["course_id", "position"])

    op.create_table(
        "lessons",
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
    )
    op.create_index("ix_lessons_course_id", "lessons", ["course_id"])
    op.create_index("ix_lessons_section_position", "lessons", ["section_id", "position"])

    op.create_table(
        "quiz_questions",
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
    )
    op.create_index(
        "ix_quiz_questions_lesson_timestamp", "quiz_questions", ["lesson_id", "timestamp_seconds"]
    )
    op.create_index("ix_quiz_questions_course_id", "quiz_questions", ["course_id"])

    op.create_table(
        "quiz_attempts",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("question_id", sa.Uuid, sa.ForeignKey("quiz_questions.id"), nullable=False),
        sa.Column("lesson_id", sa.Uuid, nullable=False),
        sa.Column("course_id", sa.Uuid, nullable=False),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("selected_option", sa.Integer, nullable=False),
        sa.Column("correct", sa.Boolean, nullable=False),
        sa.Column("time_spent_seconds", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_quiz_attempts_user_question", "quiz_attempts", ["user_id", "question_id"])

    op.create_table(
        "enrollments",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("course_id", sa.Uuid, sa.ForeignKey("courses.id"), nullable=False),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("progress_percent", sa.Float, nullable=False, server_default="0"),
        sa.Column("progress_version", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("enrolled_at", UtcDateTime, nullable=False),
        sa.Column("activated_at", UtcDateTime, nullable=True),
        sa.Column("completed_at", UtcDateTime, nullable=True),
        sa.Column("cancelled_at", UtcDateTime, nullable=True),
        sa.Column("last_accessed_at", UtcDateTime, nullable=True),
        *_versioned(),
        sa.UniqueConstraint("user_id", "course_id", name="uq_enrollments_user_course"),
    )
    op.create_index("ix_enrollments_user_enrolled", "enrollments", ["user_id", "enrolled_at", "id"])
    op.create_index(
        "ix_enrollments_course_enrolled", "enrollments", ["course_id", "enrolled_at", "id"]
    )

    op.create_table(
        "reviews",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("course_id", sa.Uuid, sa.ForeignKey("courses.id"), nullable=False),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("rating", sa.SmallInteger, nullable=False),
        sa.Column("title", sa.String(200), nullable=False, server_default=""),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        *_versioned(),
        *_soft_delete(),
    )
    op.create_index(
        "uq_reviews_course_user_live",
        "reviews",
        ["course_id", "user_id"],
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )
    op.create_index(
        "ix_reviews_course_created",
        "reviews",
        ["course_id", "created_at", "id"],
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )
    op.create_index(
        "ix_reviews_course_rating",
        "reviews",
        ["course_id", "rating"],
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )


def downgrade() -> None:
    is_postgres = op.get_bind().dialect.name == "postgresql"
    for table in ("reviews", "enrollments", "quiz_attempts", "quiz_questions", "lessons"):
        op.drop_table(table)
    op.drop_table("sections")
    op.drop_index("ix_categories_parent_id", table_name="categories")
    if is_postgres:
        op.drop_index("ix_courses_tags", table_name="courses")
        op.drop_index("ix_courses_search", table_name="courses")
        op.drop_column("courses", "search_vector")
    for name in CATALOGUE_INDEXES:
        op.drop_index(name, table_name="courses")
    op.drop_index("ix_courses_category_id", table_name="courses")
    op.drop_index("ix_courses_instructor_updated", table_name="courses")
    op.create_index("ix_courses_instructor_id", "courses", ["instructor_id"])
    op.drop_column("courses", "rating_sum")
