"""Replicas fed by events, lesson and course progress, daily activity.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Which index serves which query (adapters/repository.py, adapters/reports.py):
- lesson_progress primary key (user_id, lesson_id): the heartbeat upsert's conflict target.
- ix_lesson_progress_user_updated: dashboard, recently watched lessons, courses' last activity.
- ix_lesson_progress_course_user: per-lesson analytics and drop-off, export, one student's
  lessons in a course, completed-lesson counts.
- course_progress primary key: a student's course progress (locked while it changes);
  ix_course_progress_course: course KPIs and the recount after outline changes.
- daily_activity primary key (user_id, day, course_id): the dashboard's days and streak;
  ix_daily_activity_course_day: a course's daily series and 7-day active students;
  ix_daily_activity_day: admin metrics (active learners, lessons completed per day).
- ix_lessons_course: a course's lessons; ix_enrollments_course_status: course KPIs and export;
  ix_enrollments_course_day / ix_enrollments_day: enrolments per day (course, platform);
  enrollments primary key (user_id, course_id): the enrolment check of every heartbeat.
- ix_users_registered_on: signups per day; ix_quiz_stats_course_user: quiz accuracy per lesson
  and a student's answers in a course.
"""

import sqlalchemy as sa
from alembic import op

from kernel.db import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

FALSE = sa.false()


def upgrade() -> None:
    op.create_table(
        "courses",
        sa.Column("course_id", sa.Uuid, primary_key=True),
        sa.Column("instructor_id", sa.Uuid, nullable=False),
        sa.Column("title", sa.String(200), nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False, server_default="draft"),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=FALSE),
        sa.Column("published_at", UtcDateTime, nullable=True),
        sa.Column("lesson_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("duration_seconds", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rating_average", sa.Float, nullable=False, server_default="0"),
        sa.Column("rating_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("outline_at", UtcDateTime, nullable=True),
        sa.Column("rating_at", UtcDateTime, nullable=True),
    )
    op.create_table(
        "lessons",
        sa.Column("lesson_id", sa.Uuid, primary_key=True),
        sa.Column("course_id", sa.Uuid, nullable=False),
        sa.Column("section_id", sa.Uuid, nullable=True),
        sa.Column("title", sa.String(200), nullable=False, server_default=""),
        sa.Column("order", sa.Integer, nullable=False, server_default="0"),
        sa.Column("position", sa.Integer, nullable=True),
        sa.Column("duration_seconds", sa.Integer, nullable=False, server_default="0"),
        sa.Column("is_preview", sa.Boolean, nullable=False, server_default=FALSE),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=FALSE),
        sa.Column("facts_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_lessons_course", "lessons", ["course_id"])
    op.create_table(
        "enrollments",
        sa.Column("user_id", sa.Uuid, primary_key=True),
        sa.Column("course_id", sa.Uuid, primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("enrolled_on", sa.Date, nullable=True),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_enrollments_course_status", "enrollments", ["course_id", "status"])
    op.create_index("ix_enrollments_course_day", "enrollments", ["course_id", "enrolled_on"])
    op.create_index("ix_enrollments_day", "enrollments", ["enrolled_on"])
    op.create_table(
        "users",
        sa.Column("user_id", sa.Uuid, primary_key=True),
        sa.Column("is_student", sa.Boolean, nullable=False, server_default=FALSE),
        sa.Column("is_instructor", sa.Boolean, nullable=False, server_default=FALSE),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=FALSE),
        sa.Column("registered_on", sa.Date, nullable=True),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_index("ix_users_registered_on", "users", ["registered_on"])
    op.create_table(
        "quiz_stats",
        sa.Column("user_id", sa.Uuid, primary_key=True),
        sa.Column("lesson_id", sa.Uuid, primary_key=True),
        sa.Column("course_id", sa.Uuid, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("correct", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_quiz_stats_course_user", "quiz_stats", ["course_id", "user_id"])
    op.create_table(
        "lesson_progress",
        sa.Column("user_id", sa.Uuid, primary_key=True),
        sa.Column("lesson_id", sa.Uuid, primary_key=True),
        sa.Column("course_id", sa.Uuid, nullable=False),
        sa.Column("position_seconds", sa.Integer, nullable=False),
        sa.Column("max_position_seconds", sa.Integer, nullable=False),
        sa.Column("watched_seconds", sa.Integer, nullable=False),
        sa.Column("duration_seconds", sa.Integer, nullable=False),
        sa.Column("completed_at", UtcDateTime, nullable=True),
        sa.Column("last_sent_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("last_watch_delta", sa.Integer, nullable=False),
        sa.Column("completed_now", sa.Boolean, nullable=False),
    )
    op.create_index("ix_lesson_progress_user_updated", "lesson_progress", ["user_id", "updated_at"])
    op.create_index("ix_lesson_progress_course_user", "lesson_progress", ["course_id", "user_id"])
    op.create_table(
        "course_progress",
        sa.Column("user_id", sa.Uuid, primary_key=True),
        sa.Column("course_id", sa.Uuid, primary_key=True),
        sa.Column("completed_lessons", sa.Integer, nullable=False),
        sa.Column("total_lessons", sa.Integer, nullable=False),
        sa.Column("progress_percent", sa.Float, nullable=False),
        sa.Column("completed_at", UtcDateTime, nullable=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_course_progress_course", "course_progress", ["course_id"])
    op.create_table(
        "daily_activity",
        sa.Column("user_id", sa.Uuid, primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("course_id", sa.Uuid, primary_key=True),
        sa.Column("watch_seconds", sa.Integer, nullable=False),
        sa.Column("lessons_completed", sa.Integer, nullable=False),
    )
    op.create_index("ix_daily_activity_course_day", "daily_activity", ["course_id", "day"])
    op.create_index("ix_daily_activity_day", "daily_activity", ["day", "user_id"])


def downgrade() -> None:
    for index, table in (
        ("ix_daily_activity_day", "daily_activity"),
        ("ix_daily_activity_course_day", "daily_activity"),
        ("ix_course_progress_course", "course_progress"),
        ("ix_lesson_progress_course_user", "lesson_progress"),
        ("ix_lesson_progress_user_updated", "lesson_progress"),
        ("ix_quiz_stats_course_user", "quiz_stats"),
        ("ix_users_registered_on", "users"),
        ("ix_enrollments_day", "enrollments"),
        ("ix_enrollments_course_day", "enrollments"),
        ("ix_enrollments_course_status", "enrollments"),
        ("ix_lessons_course", "lessons"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "daily_activity",
        "course_progress",
        "lesson_progress",
        "quiz_stats",
        "users",
        "enrollments",
        "lessons",
        "courses",
    ):
        op.drop_table(table)
