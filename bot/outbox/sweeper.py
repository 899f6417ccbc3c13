"""The sweep: now and then queue what is due (reminders, reports, reviews, nudges) and send what is owed.

Each sweep also marks the nudges answered by what was logged since the last (the turn that logs
does not: it writes only what the user logged).

Run by `kambot serve` (with background jobs on) and by `kambot worker`, which builds no web app.
It also picks up what a crash or an outage left behind: rows whose lease ran out fall due again.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.outbox.pacing import KEPT
from bot.outbox.sender import Sender
from kam.acknowledgements import schedule_reminders
from kam.conversations import forget_card_messages
from kam.digest import schedule_digests
from kam.models import utcnow
from kam.nudges import NudgeTime, answer_nudges
from kam.reviews import schedule_reviews_due
from kam.send_slots import forget_old
from kam.storage import Database

log = logging.getLogger(__name__)

NUDGE_ANSWERS_LOOK_BACK = dt.timedelta(days=8)  # a weekly nudge's week, in any time zone
LOGGED_MARGIN = dt.timedelta(minutes=2)

Job = Callable[[], Awaitable[int]]  # more work that queues messages (reading calendars): how many it queued


class Sweeper:
    def __init__(
        self,
        sender: Sender,
        db: Database,
        *,
        every_seconds: float,
        nudge_time: NudgeTime | None = None,
        jobs: Sequence[Job] = (),
        card_memory_days: int = 15,
    ) -> None:
        self._sender = sender
        self._db = db
        self._every = every_seconds
        self._nudge_time = nudge_time
        self._jobs = tuple(jobs)
        self._card_memory = dt.timedelta(days=card_memory_days)
        self._task: asyncio.Task[None] | None = None
        # What was logged from here on has yet to be read for the nudges it answers: at start-up the
        # last week (a nudge is answered within its week, and a restart loses no answer), then from
        # the last sweep on, with a margin for the clocks of other instances and for slow commits.
        self._logged_since = utcnow() - NUDGE_ANSWERS_LOOK_BACK

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), context=contextvars.Context())

    async def schedule(self) -> int:
        """Queue the reminders, reports and due reviews (once, whichever instance gets there first)."""
        async with self._db.transaction() as session:
            queued = await schedule_reminders(session, {}) + await schedule_reviews_due(session)
            if self._nudge_time is not None:
                queued += await schedule_digests(session, self._nudge_time)
            await forget_card_messages(session, utcnow() - self._card_memory)
            await forget_old(session, KEPT)
            return queued

    async def note_answered_nudges(self) -> None:
        """The nudges answered by what was logged since the last time (a transaction of its own)."""
        started = utcnow()
        async with self._db.transaction() as session:
            await answer_nudges(session, self._logged_since)
        self._logged_since = started - LOGGED_MARGIN

    async def run(self) -> None:
        stopping = self._sender.stopping
        while not stopping.is_set():
            try:
                await self.schedule()
                await self._sender.drain()
            except Exception:
                log.exception("outbox sweep failed")
            try:
                await self.note_answered_nudges()
            except Exception:
                log.exception("marking answered nudges failed")
            for job in self._jobs:
                try:
                    if await job():
                        self._sender.kick()
                except Exception:
                    log.exception("background job failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self._every)

    async def close(self) -> None:
        """Stop the sender between two messages, then the sweep."""
        await self._sender.close()
        if self._task is not None:
            await self._task
