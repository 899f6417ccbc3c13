"""What handlers need beyond the turn itself, built once at start-up."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from azure.core.credentials_async import AsyncTokenCredential
from botbuilder.core import TurnContext

from bot.metrics import Metrics
from bot.settings import Settings
from bot.turn import caller_of, card_activity, texts_for
from cards.i18n import Texts
from kam.people import Caller
from kam.rules import Rules
from kam.storage import Database

if TYPE_CHECKING:
    from bot.messenger import Messenger


@dataclass
class Services:
    settings: Settings
    db: Database
    messenger: Messenger
    # None: the identity configured in the settings; tests hand in one for the Graph fake.
    graph_credential: AsyncTokenCredential | None = None
    rules: Rules = field(default_factory=Rules)
    metrics: Metrics = field(default_factory=Metrics)
    provisioning: asyncio.Task[None] | None = None


@dataclass(frozen=True)
class Turn:
    """One turn as handlers see it."""

    context: TurnContext
    services: Services
    t: Texts
    caller: Caller
    today: dt.date

    @classmethod
    def of(cls, context: TurnContext, services: Services) -> Turn:
        activity = context.activity
        moment = activity.local_timestamp or activity.timestamp
        today = moment.date() if isinstance(moment, dt.datetime) else dt.datetime.now(dt.UTC).date()
        return cls(context, services, texts_for(activity), caller_of(activity), today)

    async def say(self, text: str) -> None:
        await self.context.send_activity(text)

    async def show(self, card: dict[str, Any]) -> None:
        await self.context.send_activity(card_activity(card))


@dataclass(frozen=True)
class Reply:
    """The answer to a card action: a card that replaces the one clicked, or a short message."""

    card: dict[str, Any] | None = None
    message: str | None = None
