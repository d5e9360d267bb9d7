"""Alembic environment of the analytics service (schema `analytics`)."""

from kernel.migrations import run_env
from services.analytics.adapters.tables import metadata

run_env(metadata)
