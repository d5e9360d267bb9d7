"""The teaching replica: per course its instructor, published flag, enrolments and rating.

Index: teaching(instructor_id) for the public profile's stats (one aggregate per instructor).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from kernel.db import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the replica table."""
    op.create_table(
        "teaching",
        sa.Column("course_id", sa.Uuid, primary_key=True),
        sa.Column("instructor_id", sa.Uuid, nullable=False),
        sa.Column("published", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("enrollment_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rating_average", sa.Float, nullable=False, server_default="0"),
        sa.Column("rating_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_teaching_instructor_id", "teaching", ["instructor_id"])


def downgrade() -> None:
    """Drop the replica table."""
    op.drop_index("ix_teaching_instructor_id", table_name="teaching")
    op.drop_table("teaching")
