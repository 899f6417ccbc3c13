"""Sends what the outbox owes: claim a batch (commit), render, post concurrently, mark each row.

A 1:1 card that asks something of its person, once delivered, is followed by an activity feed notification
pointing to it: a row of its own, queued in the transaction that marks the card sent (kam.outbox.follow_in_feed)
and sent like any row, through Graph instead of the Bot Connector (bot/outbox/feed.py). It cannot hold up,
lose or repeat the card.

Requests to acknowledge are gathered per person in the transaction that claims them
(kam.acknowledgements.gather_requests): one card carries what a person was asked within
`ack_window_seconds` of the first request, and rows claimed before then go back until then.

No database connection is held across a network call: the claim is a lease committed at
once, each row is rendered in a short read and marked in a short write after its post.
Rows for different conversations are posted concurrently, within the Bot Connector's limits;
one conversation's rows go one after another, in the order they were queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.metrics import Metrics
from bot.outbox.address import Address, AddressBook, Feed, NotYetReachable, OpenChat, Undeliverable, Unreachable
from bot.outbox.feed import ActivityFeed, retry_in
from bot.outbox.pacing import Pacer
from bot.outbox.render import Rendered, Rendering, render
from bot.outbox.retry import RetryPolicy, delay_for, is_transient, status_of, with_retries
from bot.sealer import Sealer
from bot.tab_links import TabLinks
from bot.traces import delivered, traced_delivery
from cards.i18n import Texts
from graph.limits import NotNow
from kam.acknowledgements import gather_requests
from kam.catalogue import Catalogue
from kam.conversations import record_card_message
from kam.models import OutboxMessage, OutboxStatus, Person, utcnow
from kam.outbox import (
    OutboxKind,
    claim_due,
    follow_in_feed,
    leased,
    mark_failed,
    mark_retry,
    mark_sent,
    mark_throttled,
    release,
    renew,
    report_failure,
)
from kam.people import unreachable
from kam.selection import Selection
from kam.storage import Database, no_transaction_open

log = logging.getLogger(__name__)
T = TypeVar("T")

NUDGE_KINDS = {OutboxKind.NUDGE_WEEKLY: "weekly", OutboxKind.NUDGE_MEETING: "meeting"}
# A row is posted only while its lease holds for this long yet: time for the post and its mark.
HOLD_MARGIN_SECONDS = 10.0
# How long a turn's reply waits for its moment in the shared windows before it goes anyway (Teams waits ~15 s).
TURN_PATIENCE_SECONDS = 3.0
# A drain woken for rows put back until a moment starts this much after it: they are due by then.
WAKE_UP_MARGIN_SECONDS = 0.05


class LeaseLost(Exception):
    """The row's lease may have run out: another sender may hold it now, so this one neither posts nor marks it."""


# Teams' answers that mean "this person cannot be written to by kambot" (its conversational API's status codes).
PERSON_REFUSALS = ("ForbiddenOperationException", "BotNotInConversationRoster", "ConversationBlockedByUser")


def refuses_person(error: BaseException) -> bool:
    """A 403 about the person (no app of theirs, in no team of kambot's, blocked), not about kambot as a whole
    (BotDisabledByAdmin: the tenant blocked the app; that is no one person's reachability)."""
    return status_of(error) == 403 and any(f"({code})" in str(error) for code in PERSON_REFUSALS)


class Connector(Protocol):
    """The Bot Connector as the outbox needs it (bot/teams/connector.py)."""

    async def post(self, address: Address, content: dict[str, Any] | str) -> str | None: ...

    async def open_chat(self, chat: OpenChat) -> str: ...


@dataclass(frozen=True)
class Claimed:
    message_id: int
    lease_id: str


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery, written to its row once the network call is over."""

    sent: bool = False  # delivered, or no longer owed
    posted: bool = False  # delivered: a card reached its conversation
    error: str = ""
    retry_in: float | None = None  # with an error: try again in so many seconds; None: give up
    throttled: bool = False  # a 429: the service said "later", which costs the row no attempt
    holding: tuple[str, str, str] | None = None  # the message sent holds a card: (conversation, message, card)
    where: str = ""  # the conversation (or the person, for a chat to be opened) it was for
    unreachable: Unreachable | None = None  # Teams would not open a chat with its person

    def apply(self, row: OutboxMessage) -> None:
        if self.sent or not self.error:
            mark_sent(row)
        elif self.throttled and self.retry_in is not None:
            mark_throttled(row, self.error, self.retry_in)
        elif self.retry_in is not None:
            mark_retry(row, self.error, self.retry_in)
        else:
            mark_failed(row, self.error)


@dataclass(frozen=True)
class Job:
    """A claimed row, rendered (or what stopped it from rendering)."""

    claimed: Claimed
    attempts: int
    rendered: Rendered | None = None
    outcome: Outcome | None = None  # decided before any post: no longer owed, or not renderable

    @property
    def lane(self) -> str:
        """Rows of one lane go in order: one conversation, or one person whose chat is still to be opened."""
        destination = self.rendered.destination if self.rendered is not None else None
        if isinstance(destination, Address):
            return destination.conversation_id
        if isinstance(destination, OpenChat):
            return f"person:{destination.person_id}"
        if isinstance(destination, Feed):
            return f"feed:{destination.user_id}"
        return f"row:{self.claimed.message_id}"


class _Lanes:
    """One queue per lane, each posted in order by a task of its own; lanes run side by side."""

    def __init__(self, sender: Sender) -> None:
        self._sender = sender
        self._queues: dict[str, asyncio.Queue[Job]] = {}
        self._tasks: list[asyncio.Task[int]] = []
        self._owed = 0
        self._changed = asyncio.Event()
        self._left: list[Job] = []

    def put(self, job: Job) -> None:
        queue = self._queues.get(job.lane)
        if queue is None:
            queue = self._queues[job.lane] = asyncio.Queue()
            self._tasks.append(asyncio.create_task(self._run(job.lane, queue)))
        self._owed += 1
        queue.put_nowait(job)

    async def _run(self, lane: str, queue: asyncio.Queue[Job]) -> int:
        """Post the lane's rows in order; once it has none left the lane ends (a later row starts it anew)."""
        delivered = 0
        while not queue.empty():
            job = queue.get_nowait()
            try:
                if self._sender.stopping.is_set():
                    self._left.append(job)
                else:
                    delivered += await self._sender.deliver(job)
            finally:
                self._owed -= 1
                self._changed.set()
        del self._queues[lane]  # no await since the queue was found empty: no row can be waiting in it
        return delivered

    async def fewer_owed_than(self, count: int) -> None:
        while self._owed >= count and not self._sender.stopping.is_set():
            self._changed.clear()
            await self._changed.wait()

    async def close(self) -> int:
        """Wait for every lane; what a shutdown left unsent is released."""
        delivered = sum(await asyncio.gather(*self._tasks))
        await self._sender.release_unsent(self._left)
        return delivered


class Sender:
    def __init__(
        self,
        connector: Connector,
        db: Database,
        *,
        addresses: AddressBook,
        locale: str,
        metrics: Metrics,
        sealer: Sealer,
        links: TabLinks | None = None,
        sends_per_second: int = 50,
        lease_seconds: float = 60.0,
        not_reachable_seconds: float = 30.0,
        batch: int = 50,
        in_flight: int = 8,
        admins: Sequence[str] = (),
        feed: ActivityFeed | None = None,
        ack_window_seconds: float = 0.0,
        catalogue: Catalogue | None = None,
        heads: Sequence[str] = (),
        selection: Selection | None = None,
    ) -> None:
        # The Bot Connector's limits, per tenant (`sends_per_second`: every instance together) and per
        # conversation, booked in the database that every instance shares.
        self._pacer = Pacer(db, sends_per_second)
        self._admins = tuple(admins)  # Entra object ids of kambot's admins: told of what cannot be delivered
        self._feed = feed  # None: no activity feed notifications (off, or no Graph)
        self._connector = connector
        self._db = db
        self._addresses = addresses
        self._links = links or TabLinks("", "")  # no links: the cards name the tabs in words
        self._texts = Texts(locale)
        self._catalogue = catalogue or Catalogue()  # what the forms it brings offer
        self._heads = tuple(heads)  # Entra object ids of the heads of KAM: the list review's and portfolio's cards
        self._selection = selection or Selection()
        self._metrics = metrics
        self._sealer = sealer
        self._lease = dt.timedelta(seconds=lease_seconds)
        self._not_reachable_seconds = not_reachable_seconds
        self._batch = batch
        self._in_flight = asyncio.Semaphore(in_flight)
        # Feed notifications wait on Graph's limits of their own (10 a minute per person): never in the cards' slots.
        self._feed_in_flight = asyncio.Semaphore(in_flight)
        # The batches the drain holds: lease id -> until when (monotonic) it surely holds them.
        self._held_until: dict[str, float] = {}
        # Requests to acknowledge that reach one person within this window go as one card (kam.acknowledgements).
        self._ack_window = dt.timedelta(seconds=ack_window_seconds)
        self._wake_ups: dict[dt.datetime, asyncio.TimerHandle] = {}
        self._drain_task: asyncio.Task[int] | None = None
        self._again = False
        # Set on shutdown: the messages being sent are finished and marked, no new batch is claimed.
        self.stopping = asyncio.Event()
        # Leases keep instances apart; within one process one drain runs at a time, so that
        # a conversation's rows are not split across two drains.
        self._draining = asyncio.Lock()
        self.policy = RetryPolicy()

    def kick(self) -> None:
        """Start draining now, without making the caller wait for the posts."""
        if self._drain_task is None or self._drain_task.done():
            # A context of its own: the caller's (a turn's, perhaps inside a transaction) is not the drain's.
            self._drain_task = asyncio.create_task(self._drain_until_quiet(), context=contextvars.Context())
        else:
            self._again = True

    async def idle(self) -> None:
        """Wait until the drain started by kick() has finished (for orderly shutdown and tests)."""
        while self._drain_task is not None and not self._drain_task.done():
            await asyncio.wait({self._drain_task})

    async def _drain_until_quiet(self) -> int:
        sent = await self.drain()
        while self._again:
            self._again = False
            sent += await self.drain()
        return sent

    async def drain(self) -> int:
        """Send every due row; the number delivered.

        Batches are claimed while the last one's posts are still going out (at most two batches
        owed at a time), so that the Bot Connector is kept busy up to the pacing limits. How fast
        this process gets through a batch depends on how many others share the limits, so the
        leases of what it holds are renewed until it is done: a process that dies stops renewing,
        and its rows fall due for the others within one lease.
        """
        await self._sealer.ready(self._db)
        async with self._draining:
            lanes = _Lanes(self)
            renewing = asyncio.create_task(self._renew_leases())
            try:
                while not self.stopping.is_set():
                    claimed_at = time.monotonic()
                    async with self._db.transaction() as session:
                        rows = await claim_due(session, limit=self._batch, lease=self._lease)
                        waiting_until = await gather_requests(session, rows, self._ack_window)
                        claimed = [Claimed(row.id, row.lease_id) for row in rows if row.lease_id]
                    if not rows:
                        break
                    self._wake_at(waiting_until)
                    if claimed:
                        self._held_until[claimed[0].lease_id] = claimed_at + self._lease.total_seconds()
                    for row in claimed:
                        lanes.put(await self._render(row))
                    await lanes.fewer_owed_than(self._batch)
                return await lanes.close()
            finally:
                renewing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewing
                self._held_until.clear()  # one drain at a time: what it held, it holds no more

    def _wake_at(self, moments: set[dt.datetime]) -> None:
        """Drain again when requests to acknowledge that wait for more to go with them fall due (not at the next
        sweep); any instance's sweep sends them if this one is gone by then."""
        loop = asyncio.get_running_loop()
        for moment in moments - self._wake_ups.keys():
            delay = (moment - utcnow()).total_seconds() + WAKE_UP_MARGIN_SECONDS
            self._wake_ups[moment] = loop.call_later(max(delay, 0.0), self._woken, moment)

    def _woken(self, moment: dt.datetime) -> None:
        self._wake_ups.pop(moment, None)
        self.kick()

    async def _renew_leases(self) -> None:
        """Every third of a lease, renew the batches this drain still holds rows of (and forget the others)."""
        while True:
            await asyncio.sleep(self._lease.total_seconds() / 3)
            asked = set(self._held_until)
            renewed_at = time.monotonic()
            try:
                async with self._db.transaction() as session:
                    holding = await renew(session, list(asked), self._lease)
            except Exception:
                log.exception("renewing the outbox's leases failed")
                continue
            for lease_id in asked:
                if lease_id in holding:
                    self._held_until[lease_id] = renewed_at + self._lease.total_seconds()
                else:
                    self._held_until.pop(lease_id, None)

    def _check_held(self, job: Job) -> None:
        """Raises LeaseLost unless this sender may still post the row: its lease must hold until the post is
        answered and marked (renewals may have failed); otherwise another sender may have it by now."""
        until = self._held_until.get(job.claimed.lease_id, 0.0)
        if time.monotonic() >= until - min(HOLD_MARGIN_SECONDS, self._lease.total_seconds() / 4):
            raise LeaseLost()

    async def _render(self, row: Claimed) -> Job:
        attempts = 0
        try:
            async with self._db.transaction() as session:
                message = await session.get(OutboxMessage, row.message_id)
                if message is None:
                    return Job(row, 0, outcome=Outcome(sent=True))
                attempts = message.attempts
                rendering = Rendering(
                    session,
                    self._texts,
                    self._addresses,
                    self._links,
                    self._admins,
                    self._catalogue,
                    self._heads,
                    self._selection,
                )
                rendered = await render(rendering, message)
        except Exception as error:
            return Job(row, attempts, outcome=self._after_failure(row.message_id, error, attempts))
        if rendered is None:
            return Job(row, attempts, outcome=Outcome(sent=True))
        return Job(row, attempts, rendered)

    @traced_delivery
    async def deliver(self, job: Job) -> int:
        """Post one rendered row and mark it; at most `in_flight` rows are between the two at a time
        (so many a process killed outright may leave sent but not marked)."""
        if job.outcome is not None:
            return await self._mark(job, job.outcome)
        feed = job.rendered is not None and isinstance(job.rendered.destination, Feed)
        async with self._feed_in_flight if feed else self._in_flight:
            try:
                self._check_held(job)
                outcome = await self._post(job)
            except LeaseLost:
                row = job.claimed.message_id
                log.warning("outbox row %s: its lease may have run out; left for whoever holds it now", row)
                return 0
            return await self._mark(job, outcome)

    async def release_unsent(self, jobs: Sequence[Job]) -> None:
        """Rows claimed but not posted before a shutdown: due again at once, for whoever sends next."""
        if jobs:
            async with self._db.transaction() as session:
                for job in jobs:
                    await release(session, job.claimed.message_id, job.claimed.lease_id)

    async def _post(self, job: Job) -> Outcome:
        assert job.rendered is not None
        destination, card, issued_to = job.rendered.destination, job.rendered.card, job.rendered.issued_to
        if isinstance(destination, Feed):
            return await self._notify(job, destination)
        try:
            address = await self._reach(destination)
            sealed = self._sealer.seal(card, issued_to, utcnow().date())
            try:
                sent = await with_retries(
                    lambda: self._paced_post(address, sealed, lambda: self._check_held(job)), self.policy, self._observe
                )
            except LeaseLost:
                raise
            except Exception as error:
                if address.person_id is not None and refuses_person(error):  # they removed kambot, or blocked it
                    raise Unreachable(address.person_id, str(error)[:300], address.conversation_id) from error
                raise
            return Outcome(sent=True, posted=True, holding=self._holding(address, sent, sealed))
        except LeaseLost:
            raise
        except Exception as error:
            person = f"person:{destination.person_id}" if isinstance(destination, OpenChat) else ""
            where = destination.conversation_id if isinstance(destination, Address) else person
            return replace(self._after_failure(job.claimed.message_id, error, job.attempts), where=where)

    async def _notify(self, job: Job, feed: Feed) -> Outcome:
        """An activity feed notification: sent, refused (nothing to retry: the card went), or due again later."""
        assert job.rendered is not None and job.rendered.notification is not None
        if self._feed is None:
            return Outcome(sent=True)  # switched off since the row was queued
        try:
            await self._feed.send(feed, job.rendered.notification)
        except NotNow as later:
            # Due again then: a drain starts at that moment, not at the next sweep (a burst goes at Graph's pace).
            asyncio.get_running_loop().call_later(later.seconds, self.kick)
            return Outcome(error=f"activity feed: {later}", retry_in=later.seconds, throttled=True, where=feed.team_id)
        except Exception as error:
            log.warning("outbox row %s: activity feed notification failed: %s", job.claimed.message_id, error)
            text = f"activity feed: {type(error).__name__}: {error}"
            return Outcome(error=text, retry_in=retry_in(error, job.attempts), where=feed.team_id)
        return Outcome(sent=True)

    async def _mark(self, job: Job, outcome: Outcome) -> int:
        followed = False
        async with self._db.transaction() as session:
            message = await leased(session, job.claimed.message_id, job.claimed.lease_id)
            if message is None:
                log.warning("outbox row %s: the lease ran out before it was marked", job.claimed.message_id)
                return 0
            outcome.apply(message)
            delivered(message, outcome.throttled)
            if outcome.posted and self._feed is not None:
                followed = follow_in_feed(session, message)
            if outcome.holding is not None:
                await record_card_message(session, *outcome.holding)
            if outcome.sent:
                self._count_sent(message)
            if outcome.unreachable is not None:
                person = await session.get(Person, outcome.unreachable.person_id, with_for_update=True)
                # Not if they have talked to kambot since (a chat of theirs other than the one refused).
                if person is not None and person.chat_id in (None, outcome.unreachable.conversation_id):
                    unreachable(person, outcome.unreachable.reason, utcnow())
            if message.status == OutboxStatus.FAILED:
                await self._failed(session, message, outcome.where)
        if followed:
            self.kick()  # the notification goes in this drain or right after it, not at the next sweep
        return 1 if outcome.sent else 0

    async def _reach(self, destination: Address | OpenChat) -> Address:
        if isinstance(destination, Address):
            return destination
        try:
            conversation_id = await with_retries(lambda: self._paced_open(destination), self.policy, self._observe)
        except Exception as error:
            if refuses_person(error):  # not installed for them, nor in any team of theirs that has kambot
                raise Unreachable(destination.person_id, str(error)[:300]) from error
            raise
        async with self._db.transaction() as session:
            return await self._addresses.opened(session, destination, conversation_id)

    async def paced(self, tenant_id: str | None, conversation_id: str, call: Callable[[], Awaitable[T]]) -> T:
        """A request a turn makes (a reply, a card updated), in the same shared windows as the outbox's own; Teams
        waits for the turn, so a reply waits at most TURN_PATIENCE for its moment (then goes, a 429 retried)."""
        no_transaction_open("a reply in a turn")

        async def once() -> T:
            granted = await self._pacer.send(tenant_id, conversation_id, patience=TURN_PATIENCE_SECONDS)
            try:
                return await call()
            finally:
                await self._pacer.answered(granted)

        return await with_retries(once, self.policy, self._observe)

    async def post(self, address: Address, content: dict[str, Any] | str) -> str | None:
        """One message now, paced like the outbox's own (a report to the admin who started provisioning)."""
        return await with_retries(lambda: self._paced_post(address, content), self.policy, self._observe)

    async def _paced_post(
        self, address: Address, content: dict[str, Any] | str, still_held: Callable[[], None] = lambda: None
    ) -> str | None:
        granted = await self._pacer.send(address.tenant_id, address.conversation_id)
        try:
            still_held()  # the wait for the moment may have outlasted the lease
            return await self._connector.post(address, content)
        finally:
            await self._pacer.answered(granted)

    async def _paced_open(self, chat: OpenChat) -> str:
        granted = await self._pacer.open_chat(chat.tenant_id, chat.member_id)
        try:
            return await self._connector.open_chat(chat)
        finally:
            await self._pacer.answered(granted)

    def _holding(self, address: Address, activity_id: str | None, card: dict[str, Any]) -> tuple[str, str, str] | None:
        """(conversation, message, card id) for a card with a form: only that message may be updated by it."""
        card_id = self._sealer.form_id(card)
        if card_id and activity_id:
            return address.conversation_id, activity_id, card_id
        return None

    def _after_failure(self, message_id: int, error: Exception, attempts: int) -> Outcome:
        if isinstance(error, Undeliverable):
            log.error("outbox row %s undeliverable: %s", message_id, error, extra={"outbox_id": message_id})
            return Outcome(error=str(error), unreachable=error if isinstance(error, Unreachable) else None)
        if isinstance(error, NotYetReachable):
            return Outcome(error=str(error), retry_in=self._not_reachable_seconds * 2**attempts)
        status = status_of(error)
        text = f"HTTP {status}: {error}" if status else f"{type(error).__name__}: {error}"
        if is_transient(error):
            self._metrics.outbox_retried.labels(status=str(status or "timeout")).inc()
            return Outcome(error=text, retry_in=delay_for(error, attempts + 1, self.policy), throttled=status == 429)
        log.error("outbox row %s failed", message_id, exc_info=error, extra={"outbox_id": message_id})
        return Outcome(error=text)

    def _count_sent(self, message: OutboxMessage) -> None:
        self._metrics.outbox_sent.labels(kind=message.kind).inc()
        if message.kind in NUDGE_KINDS:
            self._metrics.nudges_sent.labels(kind=NUDGE_KINDS[OutboxKind(message.kind)]).inc()

    async def _failed(self, session: AsyncSession, message: OutboxMessage, where: str) -> None:
        self._metrics.outbox_failed.labels(kind=message.kind).inc()
        await report_failure(session, message, where=where, admins=self._admins)

    def _observe(self, error: BaseException) -> None:
        if status_of(error) == 429:
            self._metrics.connector_throttled.inc()

    async def close(self) -> None:
        """Stop between two messages, never in the middle of one (which would send it again after a restart)."""
        self.stopping.set()
        for wake_up in self._wake_ups.values():
            wake_up.cancel()
        self._wake_ups.clear()
        await self.idle()
