"""The search command of the compose extension: find one of your accounts, insert its summary card."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from microsoft_teams.cards import Version

from bot.router import Unanswerable, command_request
from bot.routes import SEARCH
from bot.turn import Turn
from cards.build import CARD_VERSION
from cards.general import AccountSummary, account_summary_card
from kam.access import Audience, nameable
from kam.accounts import managers_of
from kam.errors import KamError
from kam.health import health_for
from kam.models import Account
from kam.timeline import recent_activity

SEARCH_ACCOUNTS = "searchAccount"
MAX_QUERY = 100
MAX_RESULTS = 10


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
    """(account name, summary card) for each account the caller may see here whose name matches.

    The card will be inserted into a message of this conversation: an account's channel offers
    only that account, and confidential accounts are never offered. Even a "personal" compose box
    may belong to a 1:1 chat with a colleague, not with kambot: the invoke does not say whose chat
    it is, so a search counts as shared everywhere, as link unfurling does.
    """
    try:
        request = await command_request(turn, SEARCH.act, about_account=True, unlinked_channel_as_chat=True)
    except (Unanswerable, KamError):
        return []
    wanted = text.strip().lower()
    matching = [a for a in nameable(request.accounts, Audience.SHARED) if wanted in a.name.lower()][:MAX_RESULTS]
    return await summary_cards(turn, matching)


async def summary_cards(
    turn: Turn, accounts: Sequence[Account], version: Version = CARD_VERSION
) -> list[tuple[str, dict[str, Any]]]:
    """(account name, summary card) for accounts the router has let the caller see here."""
    since = turn.today - dt.timedelta(days=90)
    results = []
    services = turn.services
    async with services.db.transaction() as session:
        ids = [a.id for a in accounts]
        healths = await health_for(session, ids, turn.today, services.selection.health, services.kpi_cache)
        for account in accounts:
            activity = await recent_activity(session, account.id, since)
            summary = AccountSummary(
                account.name,
                account.tier,
                [p.name for p in managers_of(account)],
                activity.contacts,
                activity.decisions,
                activity.last_contact.isoformat() if activity.last_contact else "",
                healths.get(account.id),
            )
            results.append((account.name, account_summary_card(turn.t, summary, version=version)))
    return results
