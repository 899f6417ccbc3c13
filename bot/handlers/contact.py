"""log contact: choose the account, fill in the form, store, tell the channel."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.resolve import form_context, pick_form, start_form
from bot.items import attention, attention_for
from bot.requests import CommandRequest, VerbRequest
from bot.turn import Reply, Turn
from cards.contact import (
    FormState,
    contact_form_card,
    contact_view,
    logged_card,
    parse_contact_submission,
    prefill,
)
from kam.access import Principal, Subject, may_see_details
from kam.checks import flags_of
from kam.contacts import LoggedContact, find_by_key, log_contact
from kam.errors import Refused
from kam.models import Contact, ItemKind
from kam.subjects import contact_subject


async def start(turn: Turn, request: CommandRequest) -> None:
    """In an account channel: that account. In a chat: the user's accounts, asked only if several."""
    await start_form(turn, request, "contact", contact_form_card)


async def pick(turn: Turn, request: VerbRequest) -> Reply:
    """The form keeps what a message action carried over on the picker (summary, author, date)."""
    return await pick_form(turn, request, "contact", contact_form_card, prefill(request.value, turn.today))


async def save(turn: Turn, request: VerbRequest) -> Reply:
    """Store the contact once; the form is replaced by a read-only card, the channel is told."""
    account = request.account
    assert account is not None, "the route names its account"
    parsed = parse_contact_submission(
        turn.t,
        request.value,
        author=request.person,
        account_id=account.id,
        card_id=request.meta.card_id,
        today=turn.today,
    )
    if isinstance(parsed, FormState):
        return Reply(card=contact_form_card(turn.t, form_context(account), turn.today, parsed, request.meta.card_id))
    logged = await log_contact(request.session, parsed, turn.services.rules)
    card = await _fresh(request.session, turn, logged, parsed.runs_checks, request.principal)
    return Reply(card=card, notify=True)


async def replay(turn: Turn, request: VerbRequest) -> Reply:
    """The same form again: what was stored, for its author only (the form is bound to them anyway)."""
    existing = await find_by_key(request.session, request.meta.card_id)
    author = request.person
    if existing is None or author is None or existing.logged_by_id != author.id:
        raise Refused()
    return Reply(card=await _logged(request.session, turn, existing, request.principal))


async def _fresh(
    session: AsyncSession, turn: Turn, logged: LoggedContact, checked: bool, principal: Principal
) -> dict[str, Any]:
    """The card of a contact just stored: its acknowledgements are at hand, flags only if a check ran."""
    contact = logged.contact
    item = (ItemKind.CONTACT, contact.id)
    flags = await flags_of(session, contact.account_id, item) if checked else []
    seen = attention(contact.account, item, contact.logged_by, logged.acknowledgements, flags)
    # Just stored: its author is the one insider who can be looking (no need to ask who else).
    subject = Subject(
        account=contact.account,
        item_kind=ItemKind.CONTACT,
        confidential=contact.confidential,
        insider_ids=frozenset({contact.logged_by_id}),
    )
    visible = may_see_details(principal, subject, turn.audience)
    return logged_card(turn.t, contact_view(contact), shown_to_channel=not visible, attention=seen)


async def _logged(session: AsyncSession, turn: Turn, contact: Contact, principal: Principal) -> dict[str, Any]:
    """The read-only card, with what the checks found and who was asked to acknowledge."""
    seen, _ = await attention_for(session, contact.account, (ItemKind.CONTACT, contact.id), contact.logged_by)
    visible = may_see_details(principal, await contact_subject(session, contact), turn.audience)
    return logged_card(turn.t, contact_view(contact), shown_to_channel=not visible, attention=seen)
