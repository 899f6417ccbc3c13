"""Proactive messages through the Bot Connector: where an outbox address becomes a conversation reference.

The outbox paces and retries; this only speaks the Bot Framework protocol.
"""

from __future__ import annotations

from typing import Any

from botbuilder.core import BotAdapter, TurnContext
from botbuilder.schema import ChannelAccount, ConversationAccount, ConversationParameters, ConversationReference

from bot.outbox.address import Address, OpenChat
from bot.teams.activities import content_activity
from kam.storage import no_transaction_open


def reference_of(address: Address) -> ConversationReference:
    return ConversationReference(
        channel_id="msteams",
        service_url=address.service_url,
        bot=ChannelAccount(id=address.bot_id),
        user=ChannelAccount(id=address.member_id) if address.member_id else None,
        conversation=ConversationAccount(
            id=address.conversation_id,
            is_group=address.conversation_type != "personal",
            conversation_type=address.conversation_type,
            tenant_id=address.tenant_id,
        ),
    )


class BotConnector:
    def __init__(self, adapter: BotAdapter, app_id: str) -> None:
        self._adapter = adapter
        self._app_id = app_id

    async def post(self, address: Address, content: dict[str, Any] | str) -> str | None:
        """Post one message (a card, or text); its id. The adapter would hand a failure to its turn-error
        handler, so keep it."""
        failures: list[Exception] = []
        sent: list[str | None] = []

        async def send(context: TurnContext) -> None:
            # A new post in the conversation, not a reply to the continuation event's made-up id.
            context.activity.id = None
            try:
                response = await context.send_activity(content_activity(content))
                sent.append(response.id if response is not None else None)
            except Exception as error:
                failures.append(error)

        no_transaction_open("a proactive message")
        await self._adapter.continue_conversation(reference_of(address), send, self._app_id)
        if failures:
            raise failures[0]
        return sent[-1] if sent else None

    async def open_chat(self, chat: OpenChat) -> str:
        """Open a 1:1 chat; its conversation id."""
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
        await self._adapter.create_conversation(self._app_id, note, parameters, "msteams", chat.service_url)
        return opened[-1]
