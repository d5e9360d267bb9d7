"""The analytics schema as SQLAlchemy Core tables (migration 0002 creates the same).

Replicas (`courses`, `lessons`, `enrollments`, `users`, `quiz_stats`) are written only by the
event consumers; `lesson_progress` and `daily_activity` by the heartbeat path; `course_progress`
by both. Each index names the queries it serves.
"""

from __future__ import annotations

import sqlalchemy as sa

from kernel.db import UtcDateTime
from kernel.outbox import define_outbox_tables

metadata = sa.MetaData()

outbox, inbox = define_outbox_tables(metadata)

_false = sa.false()

courses = sa.Table(
    "courses",
    metadata,
    sa.Column("course_id", sa.Uuid, primary_key=True),
    sa.Column("instructor_id", sa.Uuid, nullable=False),
    sa.Column("title", sa.String(200), nullable=False, server_default=""),
    sa.Column("status", sa.String(20), nullable=False, server_default="draft"),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=_false),
    sa.Column("published_at", UtcDateTime, nullable=True),
    sa.Column("lesson_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("duration_seconds", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rating_average", sa.Float, nullable=False, server_default="0"),
    sa.Column("rating_count", sa.Integer, nullable=False, server_default="0"),
    # Guards: course aggregate version of the last course event, time of the last outline and
    # rating facts (those come from lesson and review aggregates).
    sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("outline_at", UtcDateTime, nullable=True),
    sa.Column("rating_at", UtcDateTime, nullable=True),
)

lessons = sa.Table(
    "lessons",
    metadata,
    sa.Column("lesson_id", sa.Uuid, primary_key=True),
    sa.Column("course_id", sa.Uuid, nullable=False),
    sa.Column("section_id", sa.Uuid, nullable=True),
    sa.Column("title", sa.String(200), nullable=False, server_default=""),
    sa.Column("order", sa.Integer, nullable=False, server_default="0"),
    sa.Column("position", sa.Integer, nullable=True),
    sa.Column("duration_seconds", sa.Integer, nullable=False, server_default="0"),
    sa.Column("is_preview", sa.Boolean, nullable=False, server_default=_false),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=_false),
    sa.Column("facts_at", UtcDateTime, nullable=False),
    # A course's lessons (analytics, student progress, completed-lesson counts).
    sa.Index("ix_lessons_course", "course_id"),
)

enrollments = sa.Table(
    "enrollments",
    metadata,
    sa.Column("user_id", sa.Uuid, primary_key=True),
    sa.Column("course_id", sa.Uuid, primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    # UTC day of the first activation (the daily "enrollments" series).
    sa.Column("enrolled_on", sa.Date, nullable=True),
    sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # A course's enrolments by status (KPIs, export) and by day (course series).
    sa.Index("ix_enrollments_course_status", "course_id", "status"),
    sa.Index("ix_enrollments_course_day", "course_id", "enrolled_on"),
    # Platform: enrolments per day (admin metrics).
    sa.Index("ix_enrollments_day", "enrolled_on"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", sa.Uuid, primary_key=True),
    sa.Column("is_student", sa.Boolean, nullable=False, server_default=_false),
    sa.Column("is_instructor", sa.Boolean, nullable=False, server_default=_false),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=_false),
    sa.Column("registered_on", sa.Date, nullable=True),
    sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
    # Signups per day (admin metrics).
    sa.Index("ix_users_registered_on", "registered_on"),
)

quiz_stats = sa.Table(
    "quiz_stats",
    metadata,
    sa.Column("user_id", sa.Uuid, primary_key=True),
    sa.Column("lesson_id", sa.Uuid, primary_key=True),
    sa.Column("course_id", sa.Uuid, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("correct", sa.Integer, nullable=False, server_default="0"),
    # Per-lesson accuracy of a course, and one student's answers in a course.
    sa.Index("ix_quiz_stats_course_user", "course_id", "user_id"),
)

lesson_progress = sa.Table(
    "lesson_progress",
    metadata,
    # The heartbeat upsert's conflict target.
    sa.Column("user_id", sa.Uuid, primary_key=True),
    sa.Column("lesson_id", sa.Uuid, primary_key=True),
    sa.Column("course_id", sa.Uuid, nullable=False),
    sa.Column("position_seconds", sa.Integer, nullable=False),
    sa.Column("max_position_seconds", sa.Integer, nullable=False),
    sa.Column("watched_seconds", sa.Integer, nullable=False),
    # The lesson's duration at the last write (completion is judged against it in the upsert).
    sa.Column("duration_seconds", sa.Integer, nullable=False),
    sa.Column("completed_at", UtcDateTime, nullable=True),
    sa.Column("last_sent_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # What the last write did, returned by the upsert itself (neither PostgreSQL < 18 nor SQLite
    # can return the old row): watched seconds added, and whether it completed the lesson.
    sa.Column("last_watch_delta", sa.Integer, nullable=False),
    sa.Column("completed_now", sa.Boolean, nullable=False),
    # Dashboard: recently watched lessons of a student.
    sa.Index("ix_lesson_progress_user_updated", "user_id", "updated_at"),
    # A course's progress rows (per-lesson analytics, export) and one student's in it.
    sa.Index("ix_lesson_progress_course_user", "course_id", "user_id"),
)

course_progress = sa.Table(
    "course_progress",
    metadata,
    sa.Column("user_id", sa.Uuid, primary_key=True),
    sa.Column("course_id", sa.Uuid, primary_key=True),
    sa.Column("completed_lessons", sa.Integer, nullable=False),
    sa.Column("total_lessons", sa.Integer, nullable=False),
    sa.Column("progress_percent", sa.Float, nullable=False),
    sa.Column("completed_at", UtcDateTime, nullable=True),
    # Version of the course_progress aggregate (its events' order for consumers).
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # A course's students (KPIs, recount after outline changes).
    sa.Index("ix_course_progress_course", "course_id"),
)

daily_activity = sa.Table(
    "daily_activity",
    metadata,
    # A student's days (dashboard: today, this week, streak).
    sa.Column("user_id", sa.Uuid, primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("course_id", sa.Uuid, primary_key=True),
    sa.Column("watch_seconds", sa.Integer, nullable=False),
    sa.Column("lessons_completed", sa.Integer, nullable=False),
    # A course's days (series, active students in 7 days).
    sa.Index("ix_daily_activity_course_day", "course_id", "day"),
    # The platform's days (active learners, lessons completed).
    sa.Index("ix_daily_activity_day", "day", "user_id"),
)
