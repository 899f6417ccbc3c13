"""What the PostgreSQL benchmarks share: bulk inserts of generated rows, readying the database after them,
counting the SQL statements an engine runs, and timing a call."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

CHUNK = 5000  # rows per INSERT: well under PostgreSQL's 65,535 parameters for the widest table


async def bulk(connection: AsyncConnection, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await connection.execute(insert(table), list(rows[start : start + CHUNK]))


async def sequences_past(connection: AsyncConnection, tables: Iterable[str]) -> None:
    """After inserts with explicit ids: each table's id sequence past them."""
    for table in tables:
        await connection.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        )


async def analyze(engine: AsyncEngine) -> None:
    """Fresh planner statistics for the generated rows."""
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("ANALYZE"))


class Statements:
    """SQL statements an engine runs."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._one)

    def _one(self, *_: Any) -> None:
        self.count += 1


async def median_ms(call: Callable[[], Awaitable[None]], requests: int) -> float:
    """The median milliseconds of `requests` calls after one warm-up."""
    samples = []
    for n in range(requests + 1):
        started = time.perf_counter()
        await call()
        if n:
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)
