"""Which account a turn is about: from the channel, the user's accounts, a picker or a name."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import Reply, Turn
from bot.turn import argument_of, channel_id_of, command_text
from cards.contact import FormContext, FormState, Option, account_picker_card, read_meta
from cards.errors import MalformedSubmission
from cards.i18n import Texts
from kam.accounts import account_for_channel, accounts_of, get_account, require_team_member
from kam.models import Account, Person
from kam.people import find_person


def form_context(account: Account) -> FormContext:
    return FormContext(
        account_id=account.id,
        account_name=account.name,
        stakeholders=[Option(s.id, f"{s.name} ({s.title})" if s.title else s.name) for s in account.stakeholders],
        team=[Option(m.person.id, m.person.name) for m in account.members],
    )


async def accounts_for(turn: Turn) -> list[Account] | None:
    """The accounts a turn can be about: the channel's, or the user's.

    None when the user was told why there are none.
    """
    channel_id = channel_id_of(turn.context.activity)
    async with turn.services.db.transaction() as session:
        person = await find_person(session, turn.caller)
        if channel_id is None:
            accounts = await accounts_of(session, person)
        else:
            account = await account_for_channel(session, channel_id)
            if account is not None:
                require_team_member(account, person)
            accounts = [account] if account else []
    if not accounts:
        await turn.say(turn.t("error.channel_not_linked" if channel_id else "error.no_accounts"))
        return None
    return accounts


async def submitted_account(
    session: AsyncSession, turn: Turn, value: Mapping[str, Any]
) -> tuple[Person | None, Account]:
    """The person submitting a form and its account, which they must be on the team of."""
    account_id = account_id_of(value)
    if account_id is None:
        raise MalformedSubmission()
    person = await find_person(session, turn.caller)
    account = await get_account(session, account_id)
    require_team_member(account, person)
    return person, account


def account_id_of(value: Mapping[str, Any]) -> int | None:
    raw = value.get("account_id")
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().isdigit() and len(raw.strip()) < 10:
        return int(raw)
    return None


async def picked_account(turn: Turn, value: Mapping[str, Any], *, purpose: str = "contact") -> Account | Reply:
    """The account chosen on a picker (the caller must be on its team), or the picker again when none was."""
    account_id = account_id_of(value)
    async with turn.services.db.transaction() as session:
        person = await find_person(session, turn.caller)
        if account_id is None:
            options = [Option(a.id, a.name) for a in await accounts_of(session, person)]
            error = turn.t("pick.required")
            return Reply(card=account_picker_card(turn.t, options, turn.today, error, purpose=purpose))
        account = await get_account(session, account_id)
        require_team_member(account, person)
        return account


async def named_account(turn: Turn, command_key: str, which_key: str) -> Account | None:
    """In a channel: its account. In a chat: the account named after the command, or the only one.

    None when the user was told why there is no single account.
    """
    wanted = argument_of(command_text(turn.context), command_key) or ""
    mine = await accounts_for(turn)
    if mine is None:
        return None
    if channel_id_of(turn.context.activity) is not None:
        return mine[0]
    chosen = [a for a in mine if wanted in a.name.lower()] if wanted else mine
    if len(chosen) == 1:
        return chosen[0]
    names = ", ".join(a.name for a in mine)
    await turn.say(
        turn.t("timeline.no_match", text=wanted, names=names)
        if wanted and not chosen
        else turn.t(which_key, names=names)
    )
    return None


FormBuilder = Callable[[Texts, FormContext, dt.date, FormState | None, str | None], dict[str, Any]]


async def start_form(turn: Turn, purpose: str, build: FormBuilder) -> None:
    """A form for the channel's account or the user's only one; else first the account picker."""
    accounts = await accounts_for(turn)
    if accounts is None:
        return
    if len(accounts) == 1:
        await turn.show(build(turn.t, form_context(accounts[0]), turn.today, None, None))
    else:
        options = [Option(a.id, a.name) for a in accounts]
        await turn.show(account_picker_card(turn.t, options, turn.today, purpose=purpose))


async def pick_form(
    turn: Turn, value: Mapping[str, Any], purpose: str, build: FormBuilder, state: FormState | None = None
) -> Reply:
    """The account was chosen on the picker: the form takes the picker's place, under the same card id."""
    meta = read_meta(value, today=turn.today, max_age_days=turn.services.settings.form_max_age_days)
    account = await picked_account(turn, value, purpose=purpose)
    if isinstance(account, Reply):
        return account
    return Reply(card=build(turn.t, form_context(account), turn.today, state, meta.card_id))
