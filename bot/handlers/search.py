"""The search command of the compose extension: find one of your accounts, insert its summary card."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from bot.services import Turn
from cards.general import AccountSummary, account_summary_card
from kam.accounts import managers_of, search_accounts
from kam.people import find_person
from kam.timeline import recent_activity

SEARCH_ACCOUNTS = "searchAccount"
MAX_QUERY = 100


def query_text(value: object) -> str | None:
    """The typed query of a `composeExtension/query` invoke; None when the value is not one of ours."""
    if not isinstance(value, Mapping) or value.get("commandId") != SEARCH_ACCOUNTS:
        return None
    parameters = value.get("parameters")
    if not isinstance(parameters, list):
        return ""
    for parameter in parameters:
        if isinstance(parameter, Mapping) and isinstance(parameter.get("value"), str):
            return parameter["value"][:MAX_QUERY]
    return ""


async def found_cards(turn: Turn, text: str) -> list[tuple[str, dict[str, Any]]]:
    """(account name, summary card) for each of the caller's accounts that matches."""
    since = turn.today - dt.timedelta(days=90)
    results = []
    async with turn.services.db.transaction() as session:
        person = await find_person(session, turn.caller)
        for account in await search_accounts(session, person, text):
            activity = await recent_activity(session, account.id, since)
            summary = AccountSummary(
                account.name,
                account.tier,
                [p.name for p in managers_of(account)],
                activity.contacts,
                activity.decisions,
                activity.last_contact.isoformat() if activity.last_contact else "",
            )
            results.append((account.name, account_summary_card(turn.t, summary)))
    return results
