"""Link unfurling: a kambot link pasted into any chat becomes the account's summary card, for its team.

Everyone else, and every link that is not kambot's or names no account, gets one and the same
empty answer (bot/teams/handler.py): nothing in it tells whether the account exists. The card is
the search command's, which shows nothing confidential; it goes into a message that anyone in
the conversation reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.errors import USER_ERRORS
from bot.handlers.search import summary_cards
from bot.links import linked_account_id
from bot.router import linked_request
from bot.routes import UNFURL
from bot.turn import Turn
from cards.general import UNFURL_VERSION


def pasted_url(value: object) -> str | None:
    """The URL of a `composeExtension/queryLink` invoke; None when the value is not one."""
    if isinstance(value, Mapping) and isinstance(value.get("url"), str):
        return value["url"]
    return None


async def unfurled(turn: Turn, url: str) -> tuple[str, dict[str, Any]] | None:
    """(account name, summary card) for a link to an account the caller may see here; None for anything else."""
    account_id = linked_account_id(url, turn.services.settings.public_base_url)
    if account_id is None:
        return None
    try:
        request = await linked_request(turn, UNFURL, {"account_id": account_id})
    except USER_ERRORS:
        return None
    return (await summary_cards(turn, request.accounts, UNFURL_VERSION))[0]
