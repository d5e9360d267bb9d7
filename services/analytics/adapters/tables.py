"""The analytics schema as SQLAlchemy Core tables (the migrations create the same)."""

from __future__ import annotations

import sqlalchemy as sa

from kernel.outbox import define_outbox_tables

metadata = sa.MetaData()

outbox, inbox = define_outbox_tables(metadata)
