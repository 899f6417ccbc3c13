"""Staying under the Bot Connector's limits together with every other kambot process.

Microsoft's rate-limit page for bots: per app and tenant 50 requests a second, all instances
together; per conversation ("thread") 7 a second, 8 in 2 seconds, 60 in 30 seconds and 1,800
an hour, both for sending to a conversation and for creating one. Each request books its
moment in the database first (kam.send_slots), against the tenant and its conversation (or,
for opening a 1:1 chat, the person), waits for it, then goes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from graph.limits import NotNow
from kam.send_slots import Limited, Window, book, push_back
from kam.storage import Database

log = logging.getLogger(__name__)

TENANT_LIMIT = 50  # requests a second per app and tenant
PER_THREAD = (Window(7, 1.0), Window(8, 2.0), Window(60, 30.0), Window(1800, 3600.0))
# Added to every window: the service counts a request when it arrives, a little after its booked moment.
MARGIN = 0.03
# A conversation that cannot go within this long is not booked yet (its slot in the tenant's window would idle).
SLACK = 0.05
# How long booked requests are kept, by key: the tenant's longest window is a second, a conversation's an hour.
KEPT = {"tenant:": 60.0, "": 3600.0 + 100 * MARGIN}


@dataclass(frozen=True)
class Granted:
    """A booked moment that has come: the request may go now."""

    ids: tuple[int, ...]
    at: float  # the moment, on this process's monotonic clock


async def take_moment(
    db: Database,
    limited: Sequence[Limited],
    *,
    margin: float,
    slack: float,
    abandoned: list[int],
    patience: float | None = None,
    give_way: bool = False,
) -> Granted:
    """Book a moment in the shared windows (kam.send_slots) and wait for it: the request may go on return.

    A sender that wakes up later than half the margin after its moment books again: arriving late, it could
    meet the requests booked after it in one window (the other half of the margin is for the way to the
    service). Its unused moment goes into `abandoned` (the caller's), dropped with the next booking.
    `patience`: after that long without a moment, go unbooked (a Granted without ids). `give_way`: when no
    moment can be booked within `slack`, raise NotNow with when to ask again, instead of waiting.
    """
    give_up = time.monotonic() + patience if patience is not None else None
    while True:
        if give_up is not None and time.monotonic() >= give_up:
            return Granted((), time.monotonic())
        dropped, abandoned[:] = list(abandoned), []
        try:
            async with db.transaction() as session:
                booking = await book(session, limited, margin=margin, slack=slack, abandoned=dropped)
        except BaseException:
            abandoned += dropped
            raise
        if give_way and not booking.booked:
            raise NotNow(booking.wait)
        wake = booking.moment if give_up is None or booking.booked else min(booking.moment, give_up)
        await asyncio.sleep(max(0.0, wake - time.monotonic()))
        if not booking.booked:
            continue
        if time.monotonic() - booking.moment <= margin / 2:
            return Granted(booking.ids, booking.moment)
        abandoned += booking.ids


class Pacer:
    def __init__(self, db: Database, tenant_limit: int = TENANT_LIMIT, margin: float = MARGIN) -> None:
        self._db = db
        self._tenant = (Window(tenant_limit, 1.0),)
        self._margin = margin
        self._abandoned: list[int] = []  # moments booked and not used: dropped with the next booking

    async def send(self, tenant_id: str | None, conversation_id: str, patience: float | None = None) -> Granted:
        """Wait for a moment to post to a conversation; with `patience`, no longer than that (then go unbooked:
        a turn's reply, which Teams waits for, rather risks a 429, which is retried)."""
        return await self._turn(tenant_id, f"conversation:{conversation_id}", patience)

    async def open_chat(self, tenant_id: str | None, member_id: str) -> Granted:
        """Wait for a moment to create a 1:1 chat with someone."""
        return await self._turn(tenant_id, f"chat:{member_id}")

    async def _turn(self, tenant_id: str | None, thread: str, patience: float | None = None) -> Granted:
        limited = (Limited(thread, PER_THREAD), Limited(f"tenant:{tenant_id or ''}", self._tenant, shared=True))
        return await take_moment(
            self._db, limited, margin=self._margin, slack=SLACK, abandoned=self._abandoned, patience=patience
        )

    async def answered(self, granted: Granted) -> None:
        await answered(self._db, granted, self._margin)


async def answered(db: Database, granted: Granted, margin: float) -> None:
    """An answer slower than the margin may mean a late arrival: count the request from its answer.

    Best effort: the request has gone either way, and its outcome must be recorded even when this
    cannot be (the margin covers most late arrivals; a 429 the rest, which is retried).
    """
    late = time.monotonic() - granted.at
    if late <= margin or not granted.ids:
        return
    try:
        async with db.transaction() as session:
            await push_back(session, granted.ids, late)
    except Exception:
        log.warning("could not move a late request's booking; the margin has to do", exc_info=True)
