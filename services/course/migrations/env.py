"""Alembic environment of the course service (schema `course`)."""

from kernel.migrations import run_env
from services.course.adapters.tables import metadata

run_env(metadata)
