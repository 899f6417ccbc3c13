"""Alembic environment: runs migrations over the async engine of the configured database."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from kam.models import Base

config = context.config
target_metadata = Base.metadata
# Held for the migration's transaction: instances that start together (each running `db upgrade`)
# migrate one after the other, and the later ones find the schema at head.
MIGRATION_LOCK = 0x6B616D626F74  # "kambot"


def _run(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        # WAL is a property of the database file: set once here, before any instance connects, so
        # that the bot's connections (and a CLI command beside it) never have to switch it together.
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        connection.commit()
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


def run_migrations_online() -> None:
    url = config.attributes["database_url"]
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    asyncio.run(_run_async(url))


run_migrations_online()
