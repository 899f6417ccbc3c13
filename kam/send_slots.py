"""Requests to a rate-limited service, booked in sliding windows that every instance shares.

The Bot Connector counts requests per tenant (all of an app's instances together) and per
conversation, each over several windows at once (7 in 1 s, 8 in 2 s, 60 in 30 s, ...). Any
number of kambot processes send; so the count cannot live in one process's memory. Each
request books its moment here first: in one short transaction, under one lock (the tenant's,
which every booking names), it reads where its keys' windows stand and inserts a row per
key at the earliest moment all of them allow. The caller then waits until that moment and
sends.

Bookings of one key are in order (each at or after the key's latest), which keeps the
check to "the L-th latest row is at least a window old" for each window of L. A key whose
next moment is further off than `slack` (a conversation that had its 8 in 2 seconds) is
not booked at all: the caller is told when to ask again, so that the tenant's slots, which
every conversation shares, are never held for a conversation that cannot use them yet.

Moments are on the database's clock (PostgreSQL's `clock_timestamp()`), so instances on
hosts whose clocks differ still agree; SQLite serves one host, whose clock it uses.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import SendSlot


@dataclass(frozen=True)
class Window:
    limit: int  # at most this many requests
    seconds: float  # in any window of this length


@dataclass(frozen=True)
class Limited:
    """A key requests count against (a tenant, a conversation), with its windows."""

    key: str
    windows: tuple[Window, ...]
    shared: bool = False  # every other key's requests count against it too: booked only when they can go

    @property
    def longest(self) -> float:
        return max(w.seconds for w in self.windows)


@dataclass(frozen=True)
class Booking:
    """A moment booked (`ids`: one row per key), or none yet (`ids` empty): ask again then.

    The moment is `wait` seconds after the database's clock was read, which this process puts at
    `read_at` on its monotonic clock (the middle of the round trip that read it; on SQLite, the
    moment it was read): `read_at + wait` is the moment here, however long the rest of the
    transaction takes.
    """

    ids: tuple[int, ...]
    wait: float
    read_at: float = 0.0

    @property
    def moment(self) -> float:
        return self.read_at + self.wait

    @property
    def booked(self) -> bool:
        return bool(self.ids)


def _nth_latest(key: str, offset: int) -> Select[Any]:
    return (
        select(SendSlot.at)
        .where(SendSlot.key == bindparam(key))
        .order_by(SendSlot.at.desc())
        .limit(1)
        .offset(offset)
    )


@functools.cache
def _where_windows_stand(shape: tuple[tuple[int, ...], ...], postgres: bool) -> Select[Any]:
    """One statement: the clock, then per key its latest row and, per window of L, its L-th latest."""
    clock = func.extract("epoch", func.clock_timestamp()) if postgres else bindparam("now")
    columns: list[Any] = [clock.label("now")]
    for index, limits in enumerate(shape):
        key = f"key{index}"
        columns.append(_nth_latest(key, 0).scalar_subquery().label(f"latest{index}"))
        columns += [_nth_latest(key, limit - 1).scalar_subquery().label(f"w{index}_{limit}") for limit in limits]
    statement: Select[Any] = select(*columns)
    return statement


# A statement of its own: a statement sees what was committed when it began (PostgreSQL's read committed),
# so the windows must be read by a statement that begins after the lock is held.
_LOCK = select(func.pg_advisory_xact_lock(func.hashtextextended(bindparam("lock"), 0)))


async def _prune(session: AsyncSession, limited: Sequence[Limited], now: float, margin: float) -> None:
    """Drop each key's rows that none of its windows reaches any more."""
    for item in limited:
        await session.execute(
            delete(SendSlot).where(SendSlot.key == item.key, SendSlot.at < now - item.longest - margin)
        )


async def book(
    session: AsyncSession,
    limited: Sequence[Limited],
    *,
    margin: float,
    slack: float,
    abandoned: Sequence[int] = (),
) -> Booking:
    """Book the earliest moment every key's windows allow (each window `margin` seconds longer than the
    service's, for the time between the moment and the request's arrival there).

    Bookings are kept apart by one lock: the shared key's (every booking names the tenant), or the
    first key's. `abandoned`: rows of earlier bookings whose request never went (safe to drop: the
    bookings after them counted on them being there, not on their absence). Commit right away:
    the caller waits and sends with no transaction open.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    keys = [item.key for item in limited]
    lock = next((item.key for item in limited if item.shared), keys[0])
    if not postgres:
        # SQLite locks the whole database for a writer: writing first takes that lock before anything is read.
        await _prune(session, limited, time.time(), margin)
    if abandoned:
        await session.execute(delete(SendSlot).where(SendSlot.id.in_(abandoned)))
    shape = tuple(tuple(w.limit for w in item.windows) for item in limited)
    parameters: dict[str, object] = {f"key{i}": key for i, key in enumerate(keys)}
    if postgres:
        await session.execute(_LOCK, {"lock": lock})
        before = time.monotonic()
    else:
        parameters["now"], before = time.time(), time.monotonic()  # after the write lock, read together
    stand: Sequence[Any] = (await session.execute(_where_windows_stand(shape, postgres), parameters)).one()
    # The database read its clock during the round trip: here, halfway through it (SQLite: at its start).
    read_at = (before + time.monotonic()) / 2 if postgres else before
    now = float(stand[0])
    column = 1
    own, shared = now, now
    for item in limited:
        latest, *nth = stand[column : column + 1 + len(item.windows)]
        column += 1 + len(item.windows)
        earliest = max(
            [now, float(latest or now)]
            + [float(at) + w.seconds + margin for w, at in zip(item.windows, nth, strict=True) if at is not None]
        )
        if item.shared:
            shared = max(shared, earliest)
        else:
            own = max(own, earliest)
    if own - now > slack:
        return Booking((), own - now, read_at)
    at = max(own, shared)
    result = await session.execute(
        insert(SendSlot).returning(SendSlot.id, sort_by_parameter_order=True), [{"key": k, "at": at} for k in keys]
    )
    return Booking(tuple(result.scalars().all()), at - now, read_at)


async def push_back(session: AsyncSession, ids: Sequence[int], seconds: float) -> None:
    """Move booked requests later: they reached the service later than booked (a slow answer), and the
    bookings still to be made must count them from then."""
    await session.execute(update(SendSlot).where(SendSlot.id.in_(ids)).values(at=SendSlot.at + seconds))


async def forget_old(session: AsyncSession, kept: Mapping[str, float]) -> None:
    """Drop rows no window reaches any more: those of keys starting with a prefix of `kept` older than its
    seconds, the others older than the longest of them (PostgreSQL bookings do not prune as they go)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    now = func.extract("epoch", func.clock_timestamp()) if postgres else literal(time.time())
    longest = max(kept.values())
    for prefix, seconds in kept.items():
        if prefix and seconds < longest:
            await session.execute(delete(SendSlot).where(SendSlot.key.startswith(prefix), SendSlot.at < now - seconds))
    await session.execute(delete(SendSlot).where(SendSlot.at < now - longest))
