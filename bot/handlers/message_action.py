"""The message action "Log as customer contact": any Teams message becomes a prefilled contact form."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping
from typing import Any

from bot.handlers.resolve import options
from bot.new_forms import form_context
from bot.router import Unanswerable, command_request
from bot.routes import MESSAGE_ACTION
from bot.turn import Reply, Turn
from cards.contact import carried, contact_form_card, prefill
from cards.forms import account_picker_card
from kam.people import colleague

LOG_AS_CONTACT = "logAsContact"
_TAGS = re.compile(r"<[^>]+>")


def _mapping(value: object) -> Mapping[str, Any]:
    """Part of what the client sent, if it is an object (anything else counts as empty)."""
    return value if isinstance(value, Mapping) else {}


def _message_text(payload: Mapping[str, Any]) -> str:
    body = _mapping(payload.get("body"))
    raw = body.get("content")
    content = raw if isinstance(raw, str) else ""
    if body.get("contentType") == "html":
        content = html.unescape(_TAGS.sub(" ", content.replace("<br>", "\n")))
    return " ".join(content.split())


def _author(payload: Mapping[str, Any]) -> tuple[str, str]:
    """The message's author as Teams names them: their Entra object id (empty for anonymous guests), and name."""
    user = _mapping(_mapping(payload.get("from")).get("user"))
    identity, name = user.get("id"), user.get("displayName")
    return (identity if isinstance(identity, str) else ""), (name if isinstance(name, str) else "")


async def _people_of(turn: Turn, payload: Mapping[str, Any]) -> dict[str, str]:
    """Who wrote the message, on the right side of the form: a colleague kambot knows is one of our people
    (never a customer person); anyone else is the customer's."""
    object_id, name = _author(payload)
    async with turn.services.db.transaction() as session:
        ours = await colleague(session, object_id)
    if ours is None:
        return {"customer_people": name}
    if ours.aad_object_id == turn.caller.aad_object_id:
        return {}
    return {"participants": str(ours.id)}


def _sent_on(payload: Mapping[str, Any], today: dt.date) -> str:
    raw = payload.get("createdDateTime")
    try:
        sent = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00")).date()
    except ValueError:
        return today.isoformat()
    return min(sent, today).isoformat()


async def open_form(turn: Turn, value: object) -> Reply:
    """composeExtension/fetchTask: the contact form prefilled with the message, or first the account picker."""
    if not isinstance(value, Mapping) or value.get("commandId") != LOG_AS_CONTACT:
        return Reply(message=turn.t("error.malformed"))
    payload = _mapping(value.get("messagePayload"))
    try:
        request = await command_request(turn, MESSAGE_ACTION.act, about_account=True, unlinked_channel_as_chat=True)
    except Unanswerable as stop:
        return Reply(message=turn.t(stop.key))
    carry = carried(
        {
            "summary": _message_text(payload),
            "met_on": _sent_on(payload, turn.today),
            **await _people_of(turn, payload),
        }
    )
    accounts = list(request.accounts)
    if len(accounts) == 1:
        async with turn.services.db.transaction() as session:
            context = await form_context(session, accounts[0], turn.services.catalogue, turn.t.language)
        return Reply(card=contact_form_card(turn.t, context, turn.today, prefill(carry, turn.today)))
    return Reply(card=account_picker_card(turn.t, options(accounts), turn.today, carry=carry))
