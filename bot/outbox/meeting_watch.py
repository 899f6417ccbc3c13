"""Reading team members' calendars for customer meetings that just ended (after-meeting nudges) or are about to
begin (pre-meeting briefs): one request per calendar and read, covering both.

Runs with the outbox sweep on every instance with background jobs; the calendars due are
claimed in the database, so several instances share the reading and never read one twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING

from bot.metrics import Metrics
from kam.briefs import look_ahead, record_briefs
from kam.meetings import CalendarRead, claim_calendar_reads, postpone_read, record_meetings
from kam.models import utcnow
from kam.storage import Database

if TYPE_CHECKING:
    from graph.gateway import TeamsGateway

log = logging.getLogger(__name__)
# Outlook allows 4 concurrent requests per mailbox; this bounds how many mailboxes are read at once.
PARALLEL_READS = 8
CLAIM_BATCH = 50
MAX_BATCHES = 40  # per sweep, so that the outbox gets its turn; the rest is read on the next sweep
# No mailbox, or the admin's application access policy excludes the person: look again a day later.
UNREADABLE_PAUSE = dt.timedelta(days=1)


class MeetingWatch:
    def __init__(
        self,
        db: Database,
        gateway: TeamsGateway,
        metrics: Metrics,
        *,
        every: dt.timedelta,
        lookback: dt.timedelta,
    ) -> None:
        self._db = db
        self._gateway = gateway
        self._metrics = metrics
        self._every = every
        self._lookback = lookback
        self._slots = asyncio.Semaphore(PARALLEL_READS)

    async def run_once(self) -> int:
        """Read every calendar that is due; returns how many nudges and briefs were queued."""
        queued = 0
        for _ in range(MAX_BATCHES):
            async with self._db.transaction() as session:
                reads = await claim_calendar_reads(
                    session,
                    every=self._every,
                    lookback=self._lookback,
                    ahead=look_ahead(self._every),
                    limit=CLAIM_BATCH,
                )
            queued += sum(await asyncio.gather(*(self._read(read) for read in reads)))
            if len(reads) < CLAIM_BATCH:
                break
        return queued

    async def _read(self, read: CalendarRead) -> int:
        from graph.gateway import GraphFailure

        async with self._slots:
            try:
                meetings = await self._gateway.calendar_meetings(read.user_id, read.start, read.end)
            except GraphFailure as failure:
                self._metrics.calendar_reads.labels(outcome="failed").inc()
                log.warning("calendar of person %s not read: %s", read.person_id, failure)
                if failure.status in (403, 404):
                    async with self._db.transaction() as session:
                        await postpone_read(session, read.person_id, utcnow() + UNREADABLE_PAUSE)
                return 0
        self._metrics.calendar_reads.labels(outcome="read").inc()
        async with self._db.transaction() as session:
            nudges = await record_meetings(session, read, meetings, self._lookback)
            return nudges + await record_briefs(session, read, meetings)
