"""Database engine and transactions (SQLAlchemy 2 async) for SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import Insert, Table, event, exc, insert, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Mapper


def _prepare_sqlite(engine: AsyncEngine) -> None:
    """WAL lets readers work while the bot writes; foreign keys are off by default in SQLite."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # First the wait for locks, so that it covers the switch to WAL too (which may need an exclusive lock).
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


PING_AFTER_IDLE_SECONDS = 5.0


def _ping_when_idle(engine: AsyncEngine, after_seconds: float) -> None:
    """Ping a pooled connection before use only when it sat idle for a while.

    A connection that sat idle while a database restart or a firewall cut it is found before
    a turn uses it, and, as with `pool_pre_ping`, every pooled connection opened before then
    is replaced (InvalidatePoolError makes the pool reconnect). A connection handed back
    moments ago is not pinged, which spares a round trip on every transaction while the bot
    is busy: one cut within `after_seconds` of its last use fails that one transaction, and
    the pool then replaces the rest.
    """
    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < after_seconds:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as error:  # noqa: BLE001 - any failure means the connection is gone
            raise exc.InvalidatePoolError(str(error)) from error
        if not alive:
            raise exc.InvalidatePoolError("the database did not answer a ping")


_open_transaction: ContextVar[bool] = ContextVar("kambot_open_transaction", default=False)


class TransactionOpen(RuntimeError):
    """A network call was about to be made while this task holds a database transaction."""


def no_transaction_open(call: str) -> None:
    """Called before every network call (Bot Connector, Graph, key downloads).

    A transaction held across a call to a slow or throttling service holds its locks
    (on SQLite: the whole database) for as long as the service takes. That is a bug
    wherever it happens, so it fails loudly, in tests and in production alike.
    """
    if _open_transaction.get():
        raise TransactionOpen(f"{call} while a database transaction is open")


def ensure_sqlite_folder(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


class Database:
    """Owns the engine; hands out one session per unit of work."""

    def __init__(self, url: str, *, ping_after_idle_seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
        ensure_sqlite_folder(url)
        self.url = url
        self.engine = create_async_engine(url)
        _ping_when_idle(self.engine, ping_after_idle_seconds)
        if self.engine.dialect.name == "sqlite":
            _prepare_sqlite(self.engine)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back on any error."""
        token = _open_transaction.set(True)
        try:
            async with self._sessions() as session, session.begin():
                yield session
        finally:
            _open_transaction.reset(token)

    async def reachable(self) -> bool:
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means "not reachable" to a health check
            return False
        return True

    async def schema_revision(self) -> str | None:
        """The migration the database is at (None when it has none or cannot be read)."""
        try:
            async with self.engine.connect() as connection:
                return await connection.scalar(text("SELECT version_num FROM alembic_version"))
        except Exception:  # noqa: BLE001 - unreadable means "not ready" to a readiness check
            return None

    async def close(self) -> None:
        await self.engine.dispose()


async def insert_if_absent(session: AsyncSession, model: type, values: dict[str, object], keys: list[str]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL: True when this call inserted the row.

    Used where two writers may race for the same row. Unlike a savepoint, it keeps SQLite's
    transaction whole (pysqlite commits a savepoint opened before any other write).
    """
    return await _insert_or_nothing(session, model, values, keys, keys[0]) is not None


async def insert_id_if_absent(
    session: AsyncSession, model: type, values: dict[str, object], keys: list[str]
) -> int | None:
    """Like insert_if_absent, but the new row's id; None when the row was there already."""
    return await _insert_or_nothing(session, model, values, keys, "id")


async def _insert_or_nothing(
    session: AsyncSession, model: type, values: dict[str, object], keys: list[str], returning: str
) -> Any:
    """The returned column of the new row; None when a row with those keys was there already."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        upsert(model).values(**values).on_conflict_do_nothing(index_elements=keys).returning(getattr(model, returning))
    )
    return (await session.execute(statement)).scalar()


_COLUMN_KEYS: dict[type[Any], tuple[tuple[str, str], ...]] = {}


def _column_values(row: Any) -> dict[str, Any]:
    """The columns set on a new ORM object, by column (the table's defaults fill in the rest)."""
    keys = _COLUMN_KEYS.get(type(row))
    if keys is None:
        mapper: Mapper[Any] = inspect(type(row))
        keys = _COLUMN_KEYS[type(row)] = tuple((a.key, a.columns[0].key) for a in mapper.column_attrs)
    state = row.__dict__
    return {column: state[attribute] for attribute, column in keys if attribute in state}


@functools.cache
def _insert_statement(table: Table, returning_id: bool) -> Insert:
    """Built once per table (the statement is the same on every call)."""
    statement = insert(table)
    return statement.returning(table.c.id, sort_by_parameter_order=True) if returning_id else statement


async def insert_rows(session: AsyncSession, rows: Sequence[Any], *, ids: bool = True) -> None:
    """Store new rows of one model with one INSERT in the session's transaction, each given its id.

    Core, not the unit of work: on a turn's hot path the ORM's flush costs more than the round
    trip. The objects stay out of the session (transient) and are read, not changed, afterwards;
    their relationships are set by the caller, their foreign keys too. `ids=False`: rows nobody
    reads again (outbox rows), stored without asking for their ids.
    """
    if not rows:
        return
    values = [_column_values(row) for row in rows]
    if any(v.keys() != values[0].keys() for v in values):
        raise ValueError("insert_rows: every row sets the same columns")
    connection = await session.connection()
    result = await connection.execute(_insert_statement(type(rows[0]).__table__, ids), values)
    if ids:
        for row, new_id in zip(rows, result.scalars().all(), strict=True):
            row.id = new_id


@contextmanager
def _submitted_once() -> Iterator[None]:
    """A row carrying an idempotency key: a second submit that raced past the check raises DuplicateSubmission."""
    from kam.errors import DuplicateSubmission

    try:
        yield
    except exc.IntegrityError:
        raise DuplicateSubmission() from None


async def insert_once(session: AsyncSession, row: Any) -> None:
    """insert_rows for one row carrying an idempotency key (a new object, read only afterwards)."""
    with _submitted_once():
        await insert_rows(session, [row])


async def add_once(session: AsyncSession, row: object) -> None:
    """Store a row carrying an idempotency key through the session (it stays there, to be changed)."""
    session.add(row)
    with _submitted_once():
        await session.flush()
