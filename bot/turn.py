"""What one turn is about: who is speaking, in which conversation and language."""

from __future__ import annotations

import re
from typing import Any

from botbuilder.core import MessageFactory, TurnContext
from botbuilder.schema import Activity, ActivityTypes, Attachment

from cards.build import CARD_CONTENT_TYPE
from cards.i18n import Texts, in_every_language
from kam.conversations import SeenConversation, base_conversation_id
from kam.people import Caller

_SPACES = re.compile(r"\s+")
_MENTIONS = re.compile(r"<at>[^<]*</at>")
COMMAND_MAX = 4000


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


def team_id_of(activity: Activity) -> str | None:
    team = _channel_data(activity).get("team")
    if isinstance(team, dict) and isinstance(team.get("id"), str):
        return team["id"]
    return None


def seen_conversation(activity: Activity) -> SeenConversation | None:
    conversation = activity.conversation
    if conversation is None or not conversation.id or not activity.service_url:
        return None
    return SeenConversation(
        conversation_id=base_conversation_id(conversation.id),
        service_url=activity.service_url,
        tenant_id=tenant_of(activity),
        conversation_type=getattr(conversation, "conversation_type", None),
        team_id=team_id_of(activity),
        bot_id=activity.recipient.id if activity.recipient else None,
    )


def strip_mentions(text: str) -> str:
    """`text` without `<at>…</at>` mentions, white space folded.

    `<at>[^<]*</at>` cannot backtrack across another tag, so the work is linear in the
    text's length (a lazy `.*?` rescans the rest of the text from every unclosed `<at>`).
    """
    return _SPACES.sub(" ", _MENTIONS.sub(" ", text)).strip()


def typed_text(context: TurnContext) -> str:
    """What the user typed, without @mentions; commands are short, text beyond COMMAND_MAX is not read."""
    if not isinstance(context.activity.text, str):
        return ""
    return strip_mentions(context.activity.text[:COMMAND_MAX])


def command_text(context: TurnContext) -> str:
    return typed_text(context).lower()


def card_activity(card: dict[str, Any], text: str | None = None) -> Activity:
    return MessageFactory.attachment(Attachment(content_type=CARD_CONTENT_TYPE, content=card), text=text)


def is_card_submit(activity: Activity) -> bool:
    """An Action.Submit from an older client arrives as a message with a value."""
    return activity.type == ActivityTypes.message and activity.value is not None and not (activity.text or "").strip()


def argument_of(text: str, key: str) -> str | None:
    """What follows the command word in `text`, or None when `text` does not start with it."""
    for word in sorted(in_every_language(key), key=len, reverse=True):
        if text.startswith(word + " "):
            return text[len(word) + 1 :].strip()
    return None
