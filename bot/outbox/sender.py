"""Sends what the outbox owes: renders each row into a card and posts it proactively."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from botbuilder.core import BotAdapter, TurnContext
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.items import item_card, teams_id
from bot.outbox.pacing import RateLimiter
from bot.metrics import Metrics
from bot.outbox.retry import RetryPolicy, delay_for, is_transient, status_of, with_retries
from bot.sealer import Sealer
from bot.turn import card_activity
from cards.general import channel_welcome_card, delivery_failed_card
from cards.i18n import Texts
from cards.nudge import MeetingView, meeting_nudge_card, weekly_nudge_card
from cards.review import review_due_card, review_summary_card
from kam.access import Audience
from kam.accounts import get_account, managers_of
from kam.acknowledgements import ACK_OVERDUE, ACK_REMINDER, ACK_REQUEST, get_acknowledgement, schedule_reminders
from kam.contacts import CONTACT_LOGGED, get_contact
from kam.conversations import (
    SeenConversation,
    any_reference,
    base_conversation_id,
    forget_card_messages,
    record_card_message,
    reference_for_channel,
    remember,
)
from kam.decisions import DECISION_LOGGED, get_decision
from kam.errors import ItemNotFound
from kam.meetings import NUDGE_MEETING
from kam.meetings import still_wanted as meeting_still_wanted
from kam.models import Account, ConversationRef, ItemKind, MeetingNudge, OutboxMessage, OutboxStatus, Person, utcnow
from kam.nudges import NUDGE_WEEKLY, NudgeTime, local_now, schedule_weekly_nudges, still_wanted
from kam.outbox import (
    CHANNEL_WELCOME,
    DELIVERY_FAILED,
    claim_due,
    leased,
    mark_failed,
    mark_retry,
    mark_sent,
    mark_throttled,
    report_failure,
)
from kam.price_actions import PRICE_RISK_POSTED
from kam.reviews import REVIEW_CLOSED, REVIEW_DUE, REVIEW_STARTED, get_review, schedule_reviews_due
from kam.storage import Database, no_transaction_open

log = logging.getLogger(__name__)


PACING_MARGIN = 0.03  # seconds added to each limit's window
NUDGE_KINDS = {NUDGE_WEEKLY: "weekly", NUDGE_MEETING: "meeting"}

_CHANNEL_POSTS = {
    CONTACT_LOGGED: ItemKind.CONTACT,
    DECISION_LOGGED: ItemKind.DECISION,
    PRICE_RISK_POSTED: ItemKind.PRICE_ACTION,
    REVIEW_STARTED: ItemKind.REVIEW,
}


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery, written to its row once the network call is over."""

    sent: bool = False  # delivered, or no longer owed
    error: str = ""
    retry_in: float | None = None  # with an error: try again in so many seconds; None: give up
    throttled: bool = False  # a 429: the service said "later", which costs the row no attempt
    holding: tuple[str, str, str] | None = None  # the message sent holds a card: (conversation, message, card)

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
class OpenChat:
    """A 1:1 chat the Bot Connector must open before the card can go: with whom, through which service."""

    person_id: int
    member_id: str
    service_url: str
    tenant_id: str | None
    bot_id: str


Destination: TypeAlias = ConversationReference | OpenChat
# Where a card goes, the card, and to whom it is issued (None: a channel, where anyone on the team may act on it).
Rendered: TypeAlias = tuple[Destination, dict[str, Any], str | None]


def addressee(person: Person) -> str:
    """Whom a 1:1 card is issued to, as a turn names its caller (Entra object id, else Teams id)."""
    return person.aad_object_id or person.teams_user_id or ""


def _personal(stored: ConversationRef, member_id: str, app_id: str) -> ConversationReference:
    return ConversationReference(
        channel_id="msteams",
        service_url=stored.service_url,
        bot=ChannelAccount(id=stored.bot_id or app_id),
        user=ChannelAccount(id=member_id),
        conversation=ConversationAccount(
            id=stored.conversation_id, conversation_type="personal", tenant_id=stored.tenant_id
        ),
    )


class Undeliverable(Exception):
    """Needs a person to fix (no channel, app removed): not retried."""


class NotYetReachable(Exception):
    """The channel exists but the bot has not been installed in its team yet: try again later."""


class Messenger:
    def __init__(
        self,
        adapter: BotAdapter,
        db: Database,
        *,
        app_id: str,
        locale: str,
        sweep_seconds: float,
        metrics: Metrics,
        nudge_time: NudgeTime | None = None,
        sends_per_second: int = 50,
        jobs: Sequence[Callable[[], Awaitable[int]]] = (),
        tenant_ids: Sequence[str] = (),
        lease_seconds: float = 300.0,
        sealer: Sealer | None = None,
        card_memory_days: int = 15,
    ) -> None:
        # The Bot Connector's limits: 50 requests per second per app and tenant (this instance's share is
        # configured), and per conversation 7 a second and 60 in 30 seconds; the windows are a little
        # longer than the service's, because our clock starts before the request reaches it.
        self._per_tenant = RateLimiter(sends_per_second, 1.0 + PACING_MARGIN)
        self._per_conversation = (RateLimiter(7, 1.0 + PACING_MARGIN), RateLimiter(60, 30.0 + PACING_MARGIN))
        self._nudge_time = nudge_time
        self._jobs = tuple(jobs)  # more work that queues messages, run on each sweep (reading calendars)
        self._metrics = metrics
        self._adapter = adapter
        self._db = db
        self._app_id = app_id
        # Conversation references are used only within these tenants (none given: local mode, any).
        self._tenant_ids = tuple(tenant_ids)
        self._lease = dt.timedelta(seconds=lease_seconds)
        self._sealer = sealer or Sealer(frozenset())
        self._card_memory = dt.timedelta(days=card_memory_days)
        self._texts = Texts(locale)
        self._sweep_seconds = sweep_seconds
        self._drain_task: asyncio.Task[int] | None = None
        self._again = False
        self._sweeper: asyncio.Task[None] | None = None
        # Set on shutdown: the message being sent is finished and committed, no new one is started.
        self._stopping = asyncio.Event()
        # Row locks keep instances apart on PostgreSQL; within one process (and on
        # SQLite, which has no row locks) only one drain may run at a time.
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
        """Send every due row: lease it (commit), send with no transaction open, then mark it."""
        sent = 0
        await self._sealer.ready(self._db)
        async with self._draining:
            while not self._stopping.is_set():
                async with self._db.transaction() as session:
                    rows = await claim_due(session, limit=1, lease=self._lease)
                    claimed = [(row.id, row.lease_id or "") for row in rows]
                if not claimed:
                    return sent
                sent += await self._deliver(*claimed[0])
            return sent

    async def _deliver(self, message_id: int, lease_id: str) -> int:
        """One leased row: render it (a short read), reach its conversation, post, record the outcome."""
        attempts = 0
        holding: tuple[str, str, str] | None = None
        try:
            async with self._db.transaction() as session:
                message = await session.get(OutboxMessage, message_id)
                if message is None:
                    return 0
                attempts = message.attempts
                rendered = await self._render(session, message)
            if rendered is not None:
                destination, card, issued_to = rendered
                reference = await self._reach(destination)
                sealed = self._sealer.seal(card, issued_to, utcnow().date())
                sent = await with_retries(
                    lambda: self.post(reference, card_activity(sealed)), self.policy, self._observe
                )
                holding = self._holding(reference, sent, sealed)
            outcome = Outcome(sent=rendered is not None, holding=holding)
        except Undeliverable as error:
            log.error("outbox row %s undeliverable: %s", message_id, error, extra={"outbox_id": message_id})
            outcome = Outcome(error=str(error))
        except NotYetReachable as error:
            outcome = Outcome(error=str(error), retry_in=self._sweep_seconds * 2**attempts)
        except Exception as error:
            outcome = self._after_failure(message_id, error, attempts)
        async with self._db.transaction() as session:
            message = await leased(session, message_id, lease_id)
            if message is None:
                log.warning("outbox row %s: the lease ran out before it was marked", message_id)
                return 0
            outcome.apply(message)
            if outcome.holding is not None:
                await record_card_message(session, *outcome.holding)
            if outcome.sent:
                self._count_sent(message)
            if message.status == OutboxStatus.FAILED:
                await self._failed(session, message)
        return 1 if outcome.sent else 0

    def _count_sent(self, message: OutboxMessage) -> None:
        self._metrics.outbox_sent.labels(kind=message.kind).inc()
        if message.kind in NUDGE_KINDS:
            self._metrics.nudges_sent.labels(kind=NUDGE_KINDS[message.kind]).inc()

    def _after_failure(self, message_id: int, error: Exception, attempts: int) -> Outcome:
        status = status_of(error)
        text = f"HTTP {status}: {error}"
        if is_transient(error):
            self._metrics.outbox_retried.labels(status=str(status or "timeout")).inc()
            return Outcome(error=text, retry_in=delay_for(error, attempts + 1, self.policy), throttled=status == 429)
        log.error("outbox row %s failed", message_id, exc_info=error, extra={"outbox_id": message_id})
        return Outcome(error=text)

    async def _failed(self, session: AsyncSession, message: OutboxMessage) -> None:
        self._metrics.outbox_failed.labels(kind=message.kind).inc()
        await report_failure(session, message)

    def _observe(self, error: BaseException) -> None:
        if status_of(error) == 429:
            self._metrics.connector_throttled.inc()

    async def _render(self, session: AsyncSession, message: OutboxMessage) -> Rendered | None:
        """The card a row stands for and where it goes; None when it is no longer owed."""
        if message.kind == CHANNEL_WELCOME:
            account = await get_account(session, message.subject_id)
            card = channel_welcome_card(self._texts, account.name, [p.name for p in managers_of(account)])
            return await self._channel_reference(session, account), card, None
        item = _CHANNEL_POSTS.get(message.kind)
        if item is not None:
            return await self._channel_post(session, message, item)
        if message.kind in (ACK_REQUEST, ACK_REMINDER):
            return await self._personal_card(session, message)
        if message.kind == ACK_OVERDUE:
            return await self._overdue_report(session, message)
        if message.kind == REVIEW_CLOSED:
            return await self._review_summary(session, message)
        if message.kind == REVIEW_DUE:
            return await self._review_due(session, message)
        if message.kind == NUDGE_WEEKLY:
            return await self._weekly_nudge(session, message)
        if message.kind == NUDGE_MEETING:
            return await self._meeting_nudge(session, message)
        if message.kind == DELIVERY_FAILED:
            return await self._failure_notice(session, message)
        raise Undeliverable(f"unknown outbox kind {message.kind!r}")

    async def _channel_post(self, session: AsyncSession, message: OutboxMessage, kind: ItemKind) -> Rendered:
        account_id = message.account_id
        if kind == ItemKind.CONTACT:
            contact = await get_contact(session, message.subject_id)
            account_id = contact.account_id if contact else None
        elif kind == ItemKind.DECISION:
            decision = await get_decision(session, message.subject_id)
            account_id = decision.account_id if decision else None
        if account_id is None:
            raise Undeliverable(f"the {kind.value} no longer exists")
        account = await get_account(session, account_id)
        card = await item_card(
            session, self._texts, account, (kind, message.subject_id), None, audience=Audience.SHARED
        )
        return await self._channel_reference(session, account), card, None

    async def _personal_card(self, session: AsyncSession, message: OutboxMessage) -> Rendered | None:
        ack = await get_acknowledgement(session, message.subject_id)
        if ack is None or ack.acknowledged_at is not None:
            return None
        t = Texts(ack.person.locale or self._texts.language)
        reminder = "review.reminder" if ack.item_kind == ItemKind.REVIEW else "ack.reminder"
        banner = t(reminder) if message.kind == ACK_REMINDER else ""
        account = await get_account(session, ack.account_id)
        try:
            card = await item_card(
                session, t, account, (ack.item_kind, ack.item_id), ack.person, audience=Audience.PRIVATE, banner=banner
            )
        except ItemNotFound:
            return None
        return await self._personal_reference(session, ack.person), card, addressee(ack.person)

    async def _overdue_report(self, session: AsyncSession, message: OutboxMessage) -> Rendered | None:
        manager = await session.get(Person, message.subject_id)
        detail = message.detail or {}
        if manager is None or message.account_id is None:
            raise Undeliverable("the KA manager or the account no longer exists")
        t = Texts(manager.locale or self._texts.language)
        account = await get_account(session, message.account_id)
        item = (ItemKind(detail["item_kind"]), int(detail["item_id"]))
        banner = t("ack.overdue", names=", ".join(detail.get("people", [])))
        try:
            card = await item_card(session, t, account, item, manager, audience=Audience.PRIVATE, banner=banner)
        except ItemNotFound:
            return None
        return await self._personal_reference(session, manager), card, addressee(manager)

    async def _review_summary(self, session: AsyncSession, message: OutboxMessage) -> Rendered:
        review = await get_review(session, message.subject_id)
        if review is None:
            raise Undeliverable("the review no longer exists")
        account = await get_account(session, review.account_id)
        card = review_summary_card(self._texts, account.name, review.plan_version or 0, review.summary or {})
        return await self._channel_reference(session, account), card, None

    async def _review_due(self, session: AsyncSession, message: OutboxMessage) -> Rendered:
        manager = await session.get(Person, message.subject_id)
        if manager is None or message.account_id is None:
            raise Undeliverable("the KA manager or the account no longer exists")
        account = await get_account(session, message.account_id)
        t = Texts(manager.locale or self._texts.language)
        card = review_due_card(t, account.name, (message.detail or {}).get("last"))
        return await self._personal_reference(session, manager), card, addressee(manager)

    async def _failure_notice(self, session: AsyncSession, message: OutboxMessage) -> Rendered:
        manager = await session.get(Person, message.subject_id)
        if manager is None or message.account_id is None:
            raise Undeliverable("the KA manager or the account no longer exists")
        account = await get_account(session, message.account_id)
        detail = message.detail or {}
        t = Texts(manager.locale or self._texts.language)
        card = delivery_failed_card(t, account.name, str(detail.get("kind", "")), str(detail.get("error", "")))
        return await self._personal_reference(session, manager), card, addressee(manager)

    async def _weekly_nudge(self, session: AsyncSession, message: OutboxMessage) -> Rendered | None:
        member = await session.get(Person, message.subject_id)
        if member is None or message.account_id is None:
            return None
        account = await get_account(session, message.account_id)
        if not await still_wanted(session, member, account):
            return None
        t = Texts(member.locale or self._texts.language)
        card = weekly_nudge_card(t, account.id, account.name, local_now(member, utcnow()).date())
        return await self._personal_reference(session, member), card, addressee(member)

    async def _meeting_nudge(self, session: AsyncSession, message: OutboxMessage) -> Rendered | None:
        nudge = await session.get(MeetingNudge, message.subject_id)
        if nudge is None or not await meeting_still_wanted(session, nudge):
            return None
        member = nudge.person
        account = await get_account(session, nudge.account_id)
        t = Texts(member.locale or self._texts.language)
        meeting = MeetingView(
            nudge_id=nudge.id,
            account_id=account.id,
            account_name=account.name,
            subject=nudge.subject,
            starts=local_now(member, nudge.starts_at),
            ends=local_now(member, nudge.ends_at),
            customer_people=nudge.customer_people,
            colleague_ids=nudge.colleague_ids,
        )
        card = meeting_nudge_card(t, meeting, local_now(member, utcnow()).date())
        return await self._personal_reference(session, member), card, addressee(member)

    async def _personal_reference(self, session: AsyncSession, person: Person) -> Destination:
        """The person's 1:1 chat with the bot, or what it takes to open it (outside the transaction)."""
        stored = await session.get(ConversationRef, person.chat_id) if person.chat_id else None
        if stored is not None and self._tenant_ok(stored.tenant_id):
            return _personal(stored, teams_id(person), self._app_id)
        if not teams_id(person):
            raise Undeliverable(f"{person.name} has no Teams id yet")
        known = await any_reference(session, self._tenant_for(person))
        if known is None:
            raise NotYetReachable("the bot has not been installed anywhere in the person's tenant yet")
        return OpenChat(person.id, teams_id(person), known.service_url, known.tenant_id, known.bot_id or self._app_id)

    def _tenant_ok(self, tenant_id: str | None) -> bool:
        return not self._tenant_ids or tenant_id in self._tenant_ids

    def _tenant_for(self, person: Person) -> list[str]:
        """Where a reference to open the person's chat may come from: their own tenant, else ours."""
        if person.tenant_id and self._tenant_ok(person.tenant_id):
            return [person.tenant_id]
        return list(self._tenant_ids)

    async def _reach(self, destination: Destination) -> ConversationReference:
        if isinstance(destination, ConversationReference):
            return destination
        return await self._open_chat(destination)

    async def _open_chat(self, chat: OpenChat) -> ConversationReference:
        """Open the 1:1 chat through the Bot Connector, then remember it (two steps: no transaction across the call)."""
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=chat.bot_id),
            members=[ChannelAccount(id=chat.member_id)],
            tenant_id=chat.tenant_id,
            channel_data={"tenant": {"id": chat.tenant_id}},
        )
        opened: list[str] = []

        async def note(context: TurnContext) -> None:
            opened.append(context.activity.conversation.id)

        no_transaction_open("opening a 1:1 chat")
        await with_retries(
            lambda: self._adapter.create_conversation(
                self._app_id, note, parameters, "msteams", chat.service_url
            ),
            self.policy,
        )
        seen = SeenConversation(opened[-1], chat.service_url, chat.tenant_id, "personal", None, chat.bot_id)
        async with self._db.transaction() as session:
            person = await session.get(Person, chat.person_id)
            if person is not None:
                person.chat_id = seen.conversation_id
            stored = await remember(session, seen)
            return _personal(stored, chat.member_id, self._app_id)

    async def _channel_reference(self, session: AsyncSession, account: Account) -> ConversationReference:
        """Where the account's channel is reached; remembered so that the channel has its own reference."""
        if not account.channel_id:
            raise Undeliverable(f"account {account.name!r} has no channel")
        stored = await reference_for_channel(session, account.channel_id, account.team_id, self._tenant_ids)
        if stored is None:
            raise NotYetReachable("the bot has not been installed in the account's team yet")
        if stored.conversation_id != account.channel_id:
            seen = SeenConversation(
                account.channel_id, stored.service_url, stored.tenant_id, "channel", account.team_id, stored.bot_id
            )
            await remember(session, seen)
        return ConversationReference(
            channel_id="msteams",
            service_url=stored.service_url,
            bot=ChannelAccount(id=stored.bot_id or self._app_id),
            conversation=ConversationAccount(
                id=account.channel_id, is_group=True, conversation_type="channel", tenant_id=stored.tenant_id
            ),
        )

    async def post(self, reference: ConversationReference, activity: Activity | str) -> str | None:
        """Post one message proactively; its id. The adapter would hand a failure to its turn-error handler,
        so keep it."""
        failures: list[Exception] = []
        sent: list[str | None] = []

        async def send(context: TurnContext) -> None:
            # A new post in the conversation, not a reply to the continuation event's made-up id.
            context.activity.id = None
            try:
                response = await context.send_activity(activity)
                sent.append(response.id if response is not None else None)
            except Exception as error:
                failures.append(error)

        no_transaction_open("a proactive message")
        await self._pace(reference)
        await self._adapter.continue_conversation(reference, send, self._app_id)
        if failures:
            raise failures[0]
        return sent[-1] if sent else None

    def _holding(
        self, reference: ConversationReference, activity_id: str | None, card: dict[str, Any]
    ) -> tuple[str, str, str] | None:
        """(conversation, message, card id) for a card with a form: only that message may be updated by it."""
        card_id = self._sealer.form_id(card)
        conversation = getattr(reference.conversation, "id", None)
        if card_id and activity_id and conversation:
            return base_conversation_id(conversation), activity_id, card_id
        return None

    async def _pace(self, reference: ConversationReference) -> None:
        """Wait for a free slot under the conversation's and then the tenant's limits.

        The tenant's slot is taken last, right before sending: taken earlier, it would be spent
        while waiting for the conversation's.
        """
        conversation = reference.conversation
        for limiter in self._per_conversation:
            await limiter.acquire(getattr(conversation, "id", None) or "")
        await self._per_tenant.acquire(getattr(conversation, "tenant_id", None) or "")

    def start_sweeper(self) -> None:
        """Pick up what a crash or an outage left behind, now and then."""
        self._sweeper = asyncio.create_task(self._sweep_forever(), context=contextvars.Context())

    async def schedule(self) -> int:
        """Queue the reminders, reports and due reviews (once, whichever instance gets there first)."""
        async with self._db.transaction() as session:
            queued = await schedule_reminders(session, {}) + await schedule_reviews_due(session)
            if self._nudge_time is not None:
                queued += await schedule_weekly_nudges(session, self._nudge_time)
            await forget_card_messages(session, utcnow() - self._card_memory)
            return queued

    async def _sweep_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.schedule()
                await self.drain()
            except Exception:
                log.exception("outbox sweep failed")
            for job in self._jobs:
                try:
                    if await job():
                        self.kick()
                except Exception:
                    log.exception("background job failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._sweep_seconds)

    async def close(self) -> None:
        """Stop between two messages, never in the middle of one (which would send it again after a restart)."""
        self._stopping.set()
        if self._sweeper is not None:
            await self._sweeper
        await self.idle()
