"""new account: KA managers add a key account from the chat."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.services import Reply, Turn
from cards.account import account_created_card, name_taken, new_account_card, parse_new_account
from cards.contact import FormState, read_meta
from kam.accounts import create_account, may_create_accounts
from kam.errors import AccountExists
from kam.people import find_person


async def new_account(turn: Turn) -> None:
    async with turn.services.db.transaction() as session:
        allowed = await may_create_accounts(session, await find_person(session, turn.caller))
    if not allowed:
        await turn.say(turn.t("error.not_allowed"))
        return
    await turn.show(new_account_card(turn.t, turn.today))


async def create(turn: Turn, value: Mapping[str, Any]) -> Reply:
    meta = read_meta(value, today=turn.today, max_age_days=turn.services.settings.form_max_age_days)
    parsed = parse_new_account(turn.t, value)
    if isinstance(parsed, FormState):
        return Reply(card=new_account_card(turn.t, turn.today, parsed, meta.card_id))
    try:
        async with turn.services.db.transaction() as session:
            await create_account(session, parsed, await find_person(session, turn.caller))
    except AccountExists:
        return Reply(card=new_account_card(turn.t, turn.today, name_taken(turn.t, value), meta.card_id))
    return Reply(card=account_created_card(turn.t, parsed.name, parsed.tier))
