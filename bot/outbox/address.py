"""Where an outbox message goes: a conversation the bot can post to, a 1:1 chat still to be opened, or (for an
activity feed notification) a person's feed.

Plain data, so that rendering (a database read) decides where, and only the connector
(bot/teams/connector.py) turns an address into a Bot Framework conversation reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

from sqlalchemy.ext.asyncio import AsyncSession

from kam.conversations import SeenConversation, any_reference, reference_for_channel, remember
from kam.models import Account, ConversationRef, Person
from kam.outbox import UNREACHED
from kam.people import reachable, teams_id


@dataclass(frozen=True)
class Address:
    """A conversation the bot is in, and the Bot Connector endpoint that reaches it."""

    service_url: str
    conversation_id: str
    tenant_id: str | None
    bot_id: str
    conversation_type: str  # "personal", "channel" or "groupChat"
    member_id: str | None = None  # in a 1:1 chat: the person's Teams id
    person_id: int | None = None  # in a 1:1 chat kambot knows: whose


@dataclass(frozen=True)
class OpenChat:
    """A 1:1 chat the Bot Connector must open before the card can go: with whom, through which service."""

    person_id: int
    member_id: str
    service_url: str
    tenant_id: str | None
    bot_id: str


Destination: TypeAlias = Address | OpenChat


@dataclass(frozen=True)
class Feed:
    """A person's Teams activity feed, reached through the team that holds their account's channel (Graph)."""

    team_id: str
    user_id: str  # the person's Entra object id


class Undeliverable(Exception):
    """Needs a person to fix (no channel, app removed): not retried."""


class Unreachable(Undeliverable):
    """Teams refused to open a 1:1 chat with this person: kambot is in no team of theirs, nor theirs alone."""

    def __init__(self, person_id: int, reason: str, conversation_id: str | None = None) -> None:
        super().__init__(f"{UNREACHED}: {reason}")
        self.person_id = person_id
        self.reason = reason
        self.conversation_id = conversation_id  # the chat Teams refused (None: one it would not open)


class NotYetReachable(Exception):
    """The channel exists but the bot has not been installed in its team yet: try again later."""


def _personal(stored: ConversationRef, person: Person, app_id: str) -> Address:
    return Address(
        stored.service_url,
        stored.conversation_id,
        stored.tenant_id,
        stored.bot_id or app_id,
        "personal",
        teams_id(person),
        person.id,
    )


class AddressBook:
    """Conversation references are used only within the configured tenants (none given: local mode, any)."""

    def __init__(self, app_id: str, tenant_ids: Sequence[str] = ()) -> None:
        self._app_id = app_id
        self._tenant_ids = tuple(tenant_ids)

    def _tenant_ok(self, tenant_id: str | None) -> bool:
        return not self._tenant_ids or tenant_id in self._tenant_ids

    def _tenants_for(self, person: Person) -> list[str]:
        """Where a reference to open the person's chat may come from: their own tenant, else ours."""
        if person.tenant_id and self._tenant_ok(person.tenant_id):
            return [person.tenant_id]
        return list(self._tenant_ids)

    def tenant_of(self, person: Person) -> str | None:
        """The tenant of the person's Teams: where their client was last seen, else the (first) one kambot serves."""
        tenants = self._tenants_for(person)
        return tenants[0] if tenants else None

    async def personal(self, session: AsyncSession, person: Person) -> Destination:
        """The person's 1:1 chat with the bot, or what it takes to open it (outside the transaction)."""
        stored = await session.get(ConversationRef, person.chat_id) if person.chat_id else None
        if stored is not None and self._tenant_ok(stored.tenant_id):
            return _personal(stored, person, self._app_id)
        if not teams_id(person):
            raise Undeliverable(f"{person.name} has no Teams id yet")
        known = await any_reference(session, self._tenants_for(person))
        if known is None:
            raise NotYetReachable("the bot has not been installed anywhere in the person's tenant yet")
        return OpenChat(person.id, teams_id(person), known.service_url, known.tenant_id, known.bot_id or self._app_id)

    async def opened(self, session: AsyncSession, chat: OpenChat, conversation_id: str) -> Address:
        """Remember a 1:1 chat the Bot Connector just opened, as the person's."""
        seen = SeenConversation(conversation_id, chat.service_url, chat.tenant_id, "personal", None, chat.bot_id)
        person = await session.get(Person, chat.person_id)
        if person is None:
            raise Undeliverable("the person no longer exists")
        person.chat_id = seen.conversation_id
        if person.unreachable_since is not None:
            await reachable(session, person)
        stored = await remember(session, seen)
        return _personal(stored, person, self._app_id)

    async def channel(self, session: AsyncSession, account: Account) -> Address:
        """Where the account's channel is reached; remembered so that the channel has its own reference."""
        if not account.channel_id and account.channel_name and account.active:
            raise NotYetReachable(f"the channel of account {account.name!r} is being made (kambot provision)")
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
        return Address(
            stored.service_url, account.channel_id, stored.tenant_id, stored.bot_id or self._app_id, "channel"
        )
