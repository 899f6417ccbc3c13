"""Bot Framework activities, read into what kambot works with: the caller, the conversation, a Turn.

The only place that knows where Teams puts the tenant, the channel and the team in an activity.
"""

from __future__ import annotations

from typing import Any

from botbuilder.core import MessageFactory, TurnContext
from botbuilder.schema import Activity, ActivityTypes, Attachment

from bot.outbox.address import Address
from bot.outbox.sender import Sender
from bot.services import Services
from bot.turn import Turn, client_today, typed_text
from cards.build import CARD_CONTENT_TYPE
from cards.i18n import Texts
from kam.access import audience_of
from kam.conversations import SeenConversation, base_conversation_id
from kam.people import Caller


def caller_of(activity: Activity) -> Caller:
    sender = activity.from_property
    return Caller(
        aad_object_id=getattr(sender, "aad_object_id", None) or None,
        teams_user_id=getattr(sender, "id", None) or None,
        name=getattr(sender, "name", None) or "",
    )


def texts_for(activity: Activity) -> Texts:
    return Texts(activity.locale)


def _channel_data(activity: Activity) -> dict[str, Any]:
    data = activity.channel_data
    return data if isinstance(data, dict) else {}


def tenant_of(activity: Activity) -> str | None:
    tenant = _channel_data(activity).get("tenant")
    if isinstance(tenant, dict) and isinstance(tenant.get("id"), str):
        return tenant["id"]
    conversation = activity.conversation
    return getattr(conversation, "tenant_id", None) if conversation else None


def channel_id_of(activity: Activity) -> str | None:
    """The Teams channel this turn happens in, if it happens in a channel."""
    channel = _channel_data(activity).get("channel")
    if isinstance(channel, dict) and isinstance(channel.get("id"), str):
        return channel["id"]
    return None


def place_of(activity: Activity) -> str:
    """The place a person sees: a channel, their 1:1 chat with kambot, a group chat.

    One place may come under several conversation ids (the Agents Playground announces an
    installation in its own conversation id and in the chat's), so a channel is named by its
    channel id and a 1:1 chat by the person in it.
    """
    conversation = activity.conversation
    conversation_id = base_conversation_id(conversation.id) if conversation and conversation.id else ""
    kind = conversation_type_of(activity)
    if kind == "channel":
        settings = _channel_data(activity).get("settings")
        selected = settings.get("selectedChannel") if isinstance(settings, dict) else None
        chosen = selected.get("id") if isinstance(selected, dict) else None
        return f"channel:{channel_id_of(activity) or (chosen if isinstance(chosen, str) else '') or conversation_id}"
    if kind == "personal":
        caller = caller_of(activity)
        return f"personal:{tenant_of(activity) or ''}:{caller.aad_object_id or caller.teams_user_id or conversation_id}"
    return f"chat:{conversation_id}"


def team_id_of(activity: Activity) -> str | None:
    team = _channel_data(activity).get("team")
    if isinstance(team, dict) and isinstance(team.get("id"), str):
        return team["id"]
    return None


def conversation_type_of(activity: Activity) -> str | None:
    conversation = activity.conversation
    return getattr(conversation, "conversation_type", None) if conversation else None


def seen_conversation(activity: Activity) -> SeenConversation | None:
    conversation = activity.conversation
    if conversation is None or not conversation.id or not activity.service_url:
        return None
    return SeenConversation(
        conversation_id=base_conversation_id(conversation.id),
        service_url=activity.service_url,
        tenant_id=tenant_of(activity),
        conversation_type=conversation_type_of(activity),
        team_id=team_id_of(activity),
        bot_id=activity.recipient.id if activity.recipient else None,
    )


def address_of(activity: Activity) -> Address | None:
    """Where a later message to this conversation goes (the conversation as the turn named it)."""
    conversation = activity.conversation
    if conversation is None or not conversation.id or not activity.service_url:
        return None
    sender = activity.from_property
    return Address(
        service_url=activity.service_url,
        conversation_id=conversation.id,
        tenant_id=tenant_of(activity),
        bot_id=activity.recipient.id if activity.recipient else "",
        conversation_type=conversation_type_of(activity) or "personal",
        member_id=getattr(sender, "id", None),
    )


def card_activity(card: dict[str, Any], text: str | None = None) -> Activity:
    return MessageFactory.attachment(Attachment(content_type=CARD_CONTENT_TYPE, content=card), text=text)


def content_activity(content: dict[str, Any] | str) -> Activity:
    """A message: a card (an Adaptive Card's JSON) or a text."""
    return card_activity(content) if isinstance(content, dict) else MessageFactory.text(content)


def is_card_submit(activity: Activity) -> bool:
    """An Action.Submit from an older client arrives as a message with a value."""
    return activity.type == ActivityTypes.message and activity.value is not None and not (activity.text or "").strip()


class TurnReplies:
    """Answers in the turn's conversation, through botbuilder's turn context.

    A reply counts against the tenant's and the conversation's limits like any post: it is booked in
    the windows every instance shares (the outbox's sender paces it), and one the Bot Connector still
    answers 429 (or 412, 502, 503, 504) is sent again after its Retry-After rather than lost.
    """

    def __init__(self, context: TurnContext, sender: Sender) -> None:
        self._context = context
        self._sender = sender
        conversation = context.activity.conversation
        self._where = (tenant_of(context.activity), conversation.id if conversation else "")

    async def send(self, content: dict[str, Any] | str) -> str | None:
        sent = await self._sender.paced(*self._where, lambda: self._context.send_activity(content_activity(content)))
        return sent.id if sent is not None else None

    async def update(self, message_id: str, card: dict[str, Any]) -> None:
        update = card_activity(card)
        update.id = message_id
        await self._sender.paced(*self._where, lambda: self._context.update_activity(update))


def turn_of(context: TurnContext, services: Services) -> Turn:
    activity = context.activity
    conversation = activity.conversation
    return Turn(
        services=services,
        replies=TurnReplies(context, services.sender),
        t=texts_for(activity),
        caller=caller_of(activity),
        today=client_today(activity.local_timestamp or activity.timestamp),
        audience=audience_of(conversation_type_of(activity)),
        channel_id=channel_id_of(activity),
        conversation_id=base_conversation_id(conversation.id) if conversation and conversation.id else "",
        text=typed_text(activity.text),
        address=address_of(activity),
        place=place_of(activity),
    )
