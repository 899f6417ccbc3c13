"""Sends what the outbox owes: renders each row into a card and posts it proactively."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from botbuilder.core import BotAdapter, TurnContext
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount, ConversationReference
from sqlalchemy.ext.asyncio import AsyncSession

from bot.retry import RetryPolicy, delay_for, is_transient, status_of, with_retries
from bot.turn import card_activity
from cards.contact import Recipient, channel_summary_card, contact_view
from cards.decision import channel_decision_card, decision_view
from cards.general import channel_welcome_card
from cards.i18n import Texts
from kam.accounts import get_account, managers_of
from kam.contacts import CONTACT_LOGGED, get_contact
from kam.conversations import SeenConversation, reference_for_channel, remember
from kam.decisions import DECISION_LOGGED, get_decision
from kam.models import Account, OutboxMessage, Person, StakeholderLevel
from kam.outbox import CHANNEL_WELCOME, claim_due, mark_failed, mark_retry, mark_sent
from kam.rules import Rules, must_inform
from kam.storage import Database

log = logging.getLogger(__name__)


class Undeliverable(Exception):
    """Needs a person to fix (no channel, app removed): not retried."""


class NotYetReachable(Exception):
    """The channel exists but the bot has not been installed in its team yet: try again later."""


class Messenger:
    def __init__(
        self, adapter: BotAdapter, db: Database, *, app_id: str, locale: str, sweep_seconds: float, rules: Rules
    ) -> None:
        self._rules = rules
        self._adapter = adapter
        self._db = db
        self._app_id = app_id
        self._texts = Texts(locale)
        self._sweep_seconds = sweep_seconds
        self._drain_task: asyncio.Task[int] | None = None
        self._again = False
        self._sweeper: asyncio.Task[None] | None = None
        # Row locks keep instances apart on PostgreSQL; within one process (and on
        # SQLite, which has no row locks) only one drain may run at a time.
        self._draining = asyncio.Lock()
        self.policy = RetryPolicy()

    def kick(self) -> None:
        """Start draining now, without making the caller wait for the posts."""
        if self._drain_task is None or self._drain_task.done():
            self._drain_task = asyncio.create_task(self._drain_until_quiet())
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
        """Send every due row, one transaction per row so that locks stay short."""
        sent = 0
        async with self._draining:
            while True:
                async with self._db.transaction() as session:
                    rows = await claim_due(session, limit=1)
                    if not rows:
                        return sent
                    sent += await self._deliver(session, rows[0])

    async def _deliver(self, session: AsyncSession, message: OutboxMessage) -> int:
        try:
            reference, card = await self._render(session, message)
            await with_retries(lambda: self.post(reference, card_activity(card)), self.policy)
        except Undeliverable as error:
            log.error("outbox row %s undeliverable: %s", message.id, error)
            mark_failed(message, str(error))
            return 0
        except NotYetReachable as error:
            mark_retry(message, str(error), self._sweep_seconds * 2**message.attempts)
            return 0
        except Exception as error:
            if is_transient(error):
                mark_retry(
                    message, f"HTTP {status_of(error)}: {error}", delay_for(error, message.attempts + 1, self.policy)
                )
            else:
                log.exception("outbox row %s failed", message.id)
                mark_failed(message, f"HTTP {status_of(error)}: {error}")
            return 0
        mark_sent(message)
        return 1

    async def _render(self, session: AsyncSession, message: OutboxMessage) -> tuple[ConversationReference, dict]:
        """The card a row stands for and the account channel it goes to."""
        renderers = {
            CONTACT_LOGGED: self._contact_logged,
            DECISION_LOGGED: self._decision_logged,
            CHANNEL_WELCOME: self._channel_welcome,
        }
        renderer = renderers.get(message.kind)
        if renderer is None:
            raise Undeliverable(f"unknown outbox kind {message.kind!r}")
        account, card = await renderer(session, message.subject_id)
        return await self._channel_reference(session, account), card

    async def _contact_logged(self, session: AsyncSession, contact_id: int) -> tuple[Account, dict]:
        contact = await get_contact(session, contact_id)
        if contact is None:
            raise Undeliverable("the contact no longer exists")
        account = await get_account(session, contact.account_id)
        about = ["contact"]
        if any(s.level in (StakeholderLevel.MANAGEMENT, StakeholderLevel.EXECUTIVE) for s in contact.stakeholders):
            about.append("contact.management")
        must_know = self._recipients(must_inform(self._rules, account, about))
        return account, channel_summary_card(self._texts, contact_view(contact), must_know)

    async def _decision_logged(self, session: AsyncSession, decision_id: int) -> tuple[Account, dict]:
        decision = await get_decision(session, decision_id)
        if decision is None:
            raise Undeliverable("the decision no longer exists")
        account = await get_account(session, decision.account_id)
        people = must_inform(self._rules, account, ["decision", f"decision.{decision.category.value}"])
        if decision.needs_confirmation:
            people = list({p.id: p for p in [*people, *managers_of(account)]}.values())
        return account, channel_decision_card(self._texts, decision_view(decision), self._recipients(people))

    @staticmethod
    def _recipients(people: list[Person]) -> list[Recipient]:
        return [Recipient(p.teams_user_id or p.aad_object_id or "", p.name) for p in people]

    async def _channel_welcome(self, session: AsyncSession, account_id: int) -> tuple[Account, dict]:
        account = await get_account(session, account_id)
        return account, channel_welcome_card(self._texts, account.name, [p.name for p in managers_of(account)])

    async def _channel_reference(self, session: AsyncSession, account: Account) -> ConversationReference:
        """Where the account's channel is reached; remembered so that the channel has its own reference."""
        if not account.channel_id:
            raise Undeliverable(f"account {account.name!r} has no channel")
        stored = await reference_for_channel(session, account.channel_id, account.team_id)
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

    async def post(self, reference: ConversationReference, activity: Activity | str) -> None:
        """Post one message proactively; the adapter would hand a failure to its turn-error handler, so keep it."""
        failures: list[Exception] = []

        async def send(context: TurnContext) -> None:
            # A new post in the conversation, not a reply to the continuation event's made-up id.
            context.activity.id = None
            try:
                await context.send_activity(activity)
            except Exception as error:
                failures.append(error)

        await self._adapter.continue_conversation(reference, send, self._app_id)
        if failures:
            raise failures[0]

    def start_sweeper(self) -> None:
        """Pick up what a crash or an outage left behind, now and then."""
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.drain()
            except Exception:
                log.exception("outbox sweep failed")
            await asyncio.sleep(self._sweep_seconds)

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.idle()
