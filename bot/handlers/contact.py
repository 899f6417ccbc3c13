"""log contact: choose the account, fill in the form, store, tell the channel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.resolve import form_context, pick_form, start_form, submitted_account
from bot.items import attention, attention_for
from bot.services import Reply, Turn
from bot.turn import channel_id_of
from cards.contact import (
    FormState,
    contact_form_card,
    contact_view,
    logged_card,
    parse_contact_submission,
    prefill,
    read_meta,
)
from kam.checks import flags_of
from kam.contacts import LoggedContact, find_by_key, log_contact
from kam.errors import DuplicateSubmission
from kam.models import Contact, ItemKind, Person


async def start(turn: Turn) -> None:
    """In an account channel: that account. In a chat: the user's accounts, asked only if several."""
    await start_form(turn, "contact", contact_form_card)


async def pick(turn: Turn, value: Mapping[str, Any]) -> Reply:
    """The form keeps what a message action carried over on the picker (summary, author, date)."""
    return await pick_form(turn, value, "contact", contact_form_card, prefill(value, turn.today))


async def save(turn: Turn, value: Mapping[str, Any]) -> Reply:
    """Store the contact once; the form is replaced by a read-only card, the channel is told."""
    meta = read_meta(value, today=turn.today, max_age_days=turn.services.settings.form_max_age_days)
    in_channel = channel_id_of(turn.context.activity) is not None
    try:
        async with turn.services.db.transaction() as session:
            person, account = await submitted_account(session, turn, value)
            parsed = parse_contact_submission(
                turn.t, value, author=person, account_id=account.id, card_id=meta.card_id, today=turn.today
            )
            if isinstance(parsed, FormState):
                return Reply(card=contact_form_card(turn.t, form_context(account), turn.today, parsed, meta.card_id))
            logged = await log_contact(session, parsed, turn.services.rules)
            card = await _fresh(session, turn, logged, parsed.runs_checks, in_channel)
    except DuplicateSubmission:
        async with turn.services.db.transaction() as session:
            existing = await find_by_key(session, meta.card_id)
            if existing is None:
                raise
            return Reply(card=await _logged(session, turn, existing, existing.logged_by, in_channel))
    turn.services.messenger.kick()
    return Reply(card=card)


async def _fresh(
    session: AsyncSession, turn: Turn, logged: LoggedContact, checked: bool, in_channel: bool
) -> dict[str, Any]:
    """The card of a contact just stored: its acknowledgements are at hand, flags only if a check ran."""
    contact = logged.contact
    item = (ItemKind.CONTACT, contact.id)
    flags = await flags_of(session, contact.account_id, item) if checked else []
    seen = attention(contact.account, item, contact.logged_by, logged.acknowledgements, flags)
    return logged_card(turn.t, contact_view(contact), shown_to_channel=in_channel, attention=seen)


async def _logged(
    session: AsyncSession, turn: Turn, contact: Contact, author: Person | None, in_channel: bool
) -> dict[str, Any]:
    """The read-only card, with what the checks found and who was asked to acknowledge."""
    seen, _ = await attention_for(session, contact.account, (ItemKind.CONTACT, contact.id), author)
    return logged_card(turn.t, contact_view(contact), shown_to_channel=in_channel, attention=seen)
