"""Alembic environment of the user service (schema `identity`)."""

from kernel.migrations import run_env
from services.user.adapters.tables import metadata

run_env(metadata)
