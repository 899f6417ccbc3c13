"""log contact: choose the account, fill in the form, store, tell the channel."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.forms import Replay, SaveForm, account_form, the_account
from bot.handlers.resolve import pick_form, start_form
from bot.items import attention, attention_for
from bot.new_forms import service_options
from bot.requests import CommandRequest, VerbRequest
from bot.turn import Reply, Turn
from cards.contact import contact_form_card, contact_view, logged_card, parse_contact_submission, prefill
from cards.forms import FormState
from kam.access import Principal, Subject, may_see_details
from kam.checks import flags_of
from kam.contacts import LogContact, LoggedContact, find_by_key, log_contact
from kam.models import Contact, ItemKind
from kam.subjects import contact_subject


async def start(turn: Turn, request: CommandRequest) -> None:
    """In an account channel: that account. In a chat: the user's accounts, asked only if several."""
    await start_form(turn, request, "contact", contact_form_card)


async def pick(turn: Turn, request: VerbRequest) -> Reply:
    """The form keeps what a message action carried over on the picker (summary, author, date)."""
    return await pick_form(turn, request, "contact", contact_form_card, prefill(request.value, turn.today))


def _parse(turn: Turn, request: VerbRequest) -> LogContact | FormState:
    return parse_contact_submission(
        turn.t,
        request.value,
        author=request.person,
        account_id=the_account(request).id,
        card_id=request.meta.card_id,
        today=turn.today,
        services=service_options(turn.services.catalogue, turn.t.language),
    )


async def _store(turn: Turn, request: VerbRequest, command: LogContact) -> LoggedContact:
    return await log_contact(request.session, command, turn.services.rules, turn.services.catalogue)


async def _answer(turn: Turn, request: VerbRequest, command: LogContact, logged: LoggedContact) -> dict[str, Any]:
    """The card of a contact just stored: its acknowledgements are at hand, flags only if a check ran."""
    contact = logged.contact
    item = (ItemKind.CONTACT, contact.id)
    flags = await flags_of(request.session, contact.account_id, item) if command.runs_checks else []
    seen = attention(contact.account, item, contact.logged_by, logged.acknowledgements, flags)
    # Just stored: its author is the one insider who can be looking (no need to ask who else).
    subject = Subject(
        account=contact.account,
        item_kind=ItemKind.CONTACT,
        confidential=contact.confidential,
        insider_ids=frozenset({contact.logged_by_id}),
    )
    visible = may_see_details(request.principal, subject, turn.audience)
    return logged_card(turn.t, contact_view(contact), shown_to_channel=not visible, attention=seen)


async def _stored_again(turn: Turn, request: VerbRequest, contact: Contact) -> Reply:
    return Reply(card=await _logged(request.session, turn, contact, request.principal))


# Store the contact once; the form is replaced by a read-only card, the channel is told.
save = SaveForm(_parse, account_form(contact_form_card), _store, _answer).save
replay = Replay(find_by_key, _stored_again)


async def _logged(session: AsyncSession, turn: Turn, contact: Contact, principal: Principal) -> dict[str, Any]:
    """The read-only card, with what the checks found and who was asked to acknowledge."""
    seen, _ = await attention_for(session, contact.account, (ItemKind.CONTACT, contact.id), contact.logged_by)
    visible = may_see_details(principal, await contact_subject(session, contact), turn.audience)
    return logged_card(turn.t, contact_view(contact), shown_to_channel=not visible, attention=seen)
