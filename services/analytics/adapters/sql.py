"""SQL that differs between PostgreSQL and SQLite, written once."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class greatest(FunctionElement[Any]):  # noqa: N801 - reads like the SQL function it renders
    """`GREATEST(a, b, ...)` on PostgreSQL, the scalar `max(a, b, ...)` on SQLite."""

    inherit_cache = True

    def __init__(self, *clauses: Any) -> None:
        super().__init__(*clauses)
        self.type = clauses[0].type  # the type of the first argument, as in SQL


@compiles(greatest)
def _greatest_default(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


@compiles(greatest, "sqlite")
def _greatest_sqlite(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"


def upsert(connection: AsyncConnection, table: sa.Table) -> Any:
    """The dialect's INSERT supporting ON CONFLICT (same API on both backends)."""
    if connection.dialect.name == "sqlite":
        return sqlite_insert(table)
    return postgres_insert(table)
