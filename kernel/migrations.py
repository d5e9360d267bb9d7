"""Alembic glue: one migration history per service, version table in the service's schema."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from sqlalchemy.engine import Connection

from kernel.db import Database
from kernel.settings import DatabaseSettings


def alembic_config(script_location: Path, settings: DatabaseSettings, schema: str) -> Config:
    """An Alembic configuration for one service, without an alembic.ini file."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["database_settings"] = settings
    config.attributes["schema"] = schema
    return config


def upgrade_to_head(script_location: Path, settings: DatabaseSettings, schema: str) -> None:
    """Apply every pending migration of one service (blocking; call it off the event loop)."""
    command.upgrade(alembic_config(script_location, settings, schema), "head")


def run_env(target_metadata: sa.MetaData) -> None:
    """Body of a service's migrations/env.py: run online migrations on its database."""
    config = context.config
    settings: DatabaseSettings = config.attributes["database_settings"]
    schema: str = config.attributes["schema"]
    asyncio.run(_run_async(settings, schema, target_metadata))


async def _run_async(settings: DatabaseSettings, schema: str, metadata: sa.MetaData) -> None:
    database = Database(settings, schema=schema, application_name=f"{schema}-migrations")
    try:
        async with database.engine.connect() as connection:
            if not database.is_sqlite:
                await connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
                await connection.commit()
            await connection.run_sync(_run_sync, None if database.is_sqlite else schema, metadata)
    finally:
        await database.dispose()


def _run_sync(connection: Connection, schema: str | None, metadata: sa.MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table_schema=schema,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
