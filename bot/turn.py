"""One turn as handlers see it: who speaks, where, in which language, and how to answer.

Plain data and a small port (`Replies`), filled in by bot/teams/activities.py: no handler
sees a Bot Framework object, so the framework can change without the handlers knowing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Protocol

from bot.outbox.address import Address
from bot.services import Services
from cards.i18n import Texts, in_every_language
from kam.access import Audience
from kam.conversations import record_card_message
from kam.people import Caller

_SPACES = re.compile(r"\s+")
_MENTIONS = re.compile(r"<at>[^<]*</at>")
COMMAND_MAX = 4000
CLIENT_CLOCK_SLACK = dt.timedelta(days=1)


class Replies(Protocol):
    """Answers in the turn's own conversation."""

    async def send(self, content: dict[str, Any] | str) -> str | None:
        """A card or a text; the id of the message sent."""
        ...

    async def update(self, message_id: str, card: dict[str, Any]) -> None: ...


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


def strip_mentions(text: str) -> str:
    """`text` without `<at>…</at>` mentions, white space folded.

    `<at>[^<]*</at>` cannot backtrack across another tag, so the work is linear in the
    text's length (a lazy `.*?` rescans the rest of the text from every unclosed `<at>`).
    """
    return _SPACES.sub(" ", _MENTIONS.sub(" ", text)).strip()


def typed_text(text: object) -> str:
    """What the user typed, without @mentions; commands are short, text beyond COMMAND_MAX is not read."""
    if not isinstance(text, str):
        return ""
    return strip_mentions(text[:COMMAND_MAX])


def argument_of(text: str, key: str) -> str | None:
    """What follows the command word in `text`, or None when `text` does not start with it."""
    for word in sorted(in_every_language(key), key=len, reverse=True):
        if text.startswith(word + " "):
            return text[len(word) + 1 :].strip()
    return None


@dataclass(frozen=True)
class Turn:
    """One turn as handlers see it."""

    services: Services
    replies: Replies
    t: Texts
    caller: Caller
    today: dt.date
    audience: Audience
    channel_id: str | None
    conversation_id: str  # without a thread's message id
    text: str = ""  # what the user typed, without @mentions
    address: Address | None = None  # where a later, proactive message about this turn goes
    place: str = ""  # the channel or chat as people see it (bot/teams/activities.py `place_of`)

    @property
    def command(self) -> str:
        return self.text.lower()

    @property
    def principal(self) -> str:
        """Whom a card shown in this turn is issued to: the caller's Entra object id (else their Teams id)."""
        return self.caller.aad_object_id or self.caller.teams_user_id or ""

    def sealed(self, card: dict[str, Any]) -> dict[str, Any]:
        return self.services.sealer.seal(card, self.principal, self.today)

    async def say(self, text: str) -> None:
        await self.replies.send(text)

    async def show(self, card: dict[str, Any]) -> None:
        """Send a card, sealed for the caller; a card with a form is noted, so that only it is updated later."""
        sealed = self.sealed(card)
        sent_id = await self.replies.send(sealed)
        card_id = self.services.sealer.form_id(sealed)
        if card_id and sent_id and self.conversation_id:
            async with self.services.db.transaction() as session:
                await record_card_message(session, self.conversation_id, sent_id, card_id)


@dataclass(frozen=True)
class Reply:
    """The answer to a card action: a card that replaces the one clicked, or a short message."""

    card: dict[str, Any] | None = None
    message: str | None = None
    notify: bool = False  # the action queued messages: the outbox is kicked once the transaction is committed
