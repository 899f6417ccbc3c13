"""log contact: choose the account, fill in the form, store, tell the channel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import Reply, Turn
from bot.turn import channel_id_of
from cards.contact import (
    FormContext,
    FormState,
    MalformedSubmission,
    Option,
    account_picker_card,
    contact_form_card,
    contact_view,
    logged_card,
    parse_contact_submission,
    read_meta,
)
from kam.accounts import account_for_channel, accounts_of, get_account, require_team_member
from kam.contacts import find_by_key, log_contact
from kam.errors import DuplicateSubmission
from kam.models import Account, Contact
from kam.people import find_person


def form_context(account: Account) -> FormContext:
    return FormContext(
        account_id=account.id,
        account_name=account.name,
        stakeholders=[Option(s.id, f"{s.name} ({s.title})" if s.title else s.name) for s in account.stakeholders],
        team=[Option(m.person.id, m.person.name) for m in account.members],
    )


async def accounts_for(turn: Turn) -> list[Account] | None:
    """The accounts a form can be for: the channel's, or the user's. None when the user was told why there are none."""
    channel_id = channel_id_of(turn.context.activity)
    async with turn.services.db.transaction() as session:
        person = await find_person(session, turn.caller)
        if channel_id is None:
            accounts = await accounts_of(session, person)
        else:
            account = await account_for_channel(session, channel_id)
            if account is None:
                await turn.say(turn.t("error.channel_not_linked"))
                return None
            require_team_member(account, person)
            accounts = [account]
    if not accounts:
        await turn.say(turn.t("error.no_accounts"))
        return None
    return accounts


async def start(turn: Turn) -> None:
    """In an account channel: that account. In a chat: the user's accounts, asked only if several."""
    accounts = await accounts_for(turn)
    if accounts is None:
        return
    if len(accounts) == 1:
        await turn.show(contact_form_card(turn.t, form_context(accounts[0]), turn.today))
    else:
        await turn.show(account_picker_card(turn.t, [Option(a.id, a.name) for a in accounts], turn.today))


def account_id_of(value: Mapping[str, Any]) -> int | None:
    raw = value.get("account_id")
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().isdigit() and len(raw.strip()) < 10:
        return int(raw)
    return None


async def picked_account(turn: Turn, value: Mapping[str, Any], *, for_decision: bool = False) -> Account | Reply:
    """The account chosen on a picker (the caller must be on its team), or the picker again when none was."""
    account_id = account_id_of(value)
    async with turn.services.db.transaction() as session:
        person = await find_person(session, turn.caller)
        if account_id is None:
            options = [Option(a.id, a.name) for a in await accounts_of(session, person)]
            error = turn.t("pick.required")
            return Reply(card=account_picker_card(turn.t, options, turn.today, error, for_decision=for_decision))
        account = await get_account(session, account_id)
        require_team_member(account, person)
        return account


async def pick(turn: Turn, value: Mapping[str, Any]) -> Reply:
    """The account was chosen on the picker: show the form in its place, under the same card id."""
    meta = read_meta(value, today=turn.today, max_age_days=turn.services.settings.form_max_age_days)
    account = await picked_account(turn, value)
    if isinstance(account, Reply):
        return account
    return Reply(card=contact_form_card(turn.t, form_context(account), turn.today, card_id=meta.card_id))


async def save(turn: Turn, value: Mapping[str, Any]) -> Reply:
    """Store the contact once; the form is replaced by a read-only card, the channel is told."""
    meta = read_meta(value, today=turn.today, max_age_days=turn.services.settings.form_max_age_days)
    account_id = account_id_of(value)
    if account_id is None:
        raise MalformedSubmission()
    in_channel = channel_id_of(turn.context.activity) is not None

    try:
        async with turn.services.db.transaction() as session:
            person = await find_person(session, turn.caller)
            account = await get_account(session, account_id)
            require_team_member(account, person)
            parsed = parse_contact_submission(
                turn.t, value, author=person, account_id=account.id, card_id=meta.card_id, today=turn.today
            )
            if isinstance(parsed, FormState):
                return Reply(card=contact_form_card(turn.t, form_context(account), turn.today, parsed, meta.card_id))
            contact = await log_contact(session, parsed)
            view = contact_view(await _reload(session, contact))
    except DuplicateSubmission:
        async with turn.services.db.transaction() as session:
            existing = await find_by_key(session, meta.card_id)
            if existing is None:
                raise
            return Reply(card=logged_card(turn.t, contact_view(existing), shown_to_channel=in_channel))
    turn.services.messenger.kick()
    return Reply(card=logged_card(turn.t, view, shown_to_channel=in_channel))


async def _reload(session: AsyncSession, contact: Contact) -> Contact:
    await session.refresh(contact, ["account", "logged_by", "stakeholders", "participants"])
    return contact
