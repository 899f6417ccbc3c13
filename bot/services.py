"""What handlers need beyond the turn itself, built once at start-up."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from azure.core.credentials_async import AsyncTokenCredential
from botbuilder.core import TurnContext

from bot.metrics import Metrics
from bot.sealer import Sealer
from bot.settings import Settings
from bot.turn import caller_of, card_activity, channel_id_of, texts_for
from cards.i18n import Texts
from kam.access import Audience, audience_of
from kam.conversations import base_conversation_id, record_card_message
from kam.people import Caller
from kam.rules import Rules
from kam.storage import Database

if TYPE_CHECKING:
    from bot.outbox.sender import Messenger

CLIENT_CLOCK_SLACK = dt.timedelta(days=1)


@dataclass
class Services:
    settings: Settings
    db: Database
    messenger: Messenger
    sealer: Sealer
    # None: the identity configured in the settings; tests hand in one for the Graph fake.
    graph_credential: AsyncTokenCredential | None = None
    rules: Rules = field(default_factory=Rules)
    metrics: Metrics = field(default_factory=Metrics)
    provisioning: asyncio.Task[None] | None = None


def client_today(activity_moment: object, now: dt.datetime | None = None) -> dt.date:
    """The user's local date, from their client's clock unless it is more than a day off ours.

    Dates a user types are checked against this "today"; a client clock set years ahead
    would otherwise let anything through as "not in the future".
    """
    now = now or dt.datetime.now(dt.UTC)
    if not isinstance(activity_moment, dt.datetime):
        return now.date()
    moment = activity_moment if activity_moment.tzinfo else activity_moment.replace(tzinfo=dt.UTC)
    if abs(moment - now) > CLIENT_CLOCK_SLACK:
        return now.date()
    return moment.date()


@dataclass(frozen=True)
class Turn:
    """One turn as handlers see it."""

    context: TurnContext
    services: Services
    t: Texts
    caller: Caller
    today: dt.date
    audience: Audience
    channel_id: str | None

    @classmethod
    def of(cls, context: TurnContext, services: Services) -> Turn:
        activity = context.activity
        conversation = activity.conversation
        return cls(
            context,
            services,
            texts_for(activity),
            caller_of(activity),
            client_today(activity.local_timestamp or activity.timestamp),
            audience_of(getattr(conversation, "conversation_type", None) if conversation else None),
            channel_id_of(activity),
        )

    @property
    def principal(self) -> str:
        """Whom a card shown in this turn is issued to: the caller's Entra object id (else their Teams id)."""
        return self.caller.aad_object_id or self.caller.teams_user_id or ""

    @property
    def conversation_id(self) -> str:
        conversation = self.context.activity.conversation
        return base_conversation_id(conversation.id) if conversation and conversation.id else ""

    def sealed(self, card: dict[str, Any]) -> dict[str, Any]:
        return self.services.sealer.seal(card, self.principal, self.today)

    async def say(self, text: str) -> None:
        await self.context.send_activity(text)

    async def show(self, card: dict[str, Any]) -> None:
        """Send a card, sealed for the caller; a card with a form is noted, so that only it is updated later."""
        sealed = self.sealed(card)
        sent = await self.context.send_activity(card_activity(sealed))
        card_id = self.services.sealer.form_id(sealed)
        if card_id and sent is not None and sent.id and self.conversation_id:
            async with self.services.db.transaction() as session:
                await record_card_message(session, self.conversation_id, sent.id, card_id)


@dataclass(frozen=True)
class Reply:
    """The answer to a card action: a card that replaces the one clicked, or a short message."""

    card: dict[str, Any] | None = None
    message: str | None = None
    notify: bool = False  # the action queued messages: the outbox is kicked once the transaction is committed
