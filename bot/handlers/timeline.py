"""timeline / what's new: an account's latest contacts and decisions, a page at a time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.handlers.resolve import account_id_of, named_account
from bot.services import Reply, Turn
from bot.turn import channel_id_of
from cards.contact import read_meta
from cards.errors import MalformedSubmission
from cards.timeline import TimelineItem, timeline_card, timeline_item
from kam.accounts import get_account, require_team_member
from kam.models import Account
from kam.people import find_person
from kam.timeline import Page, timeline_page

MAX_OFFSET = 100_000


def _items(turn: Turn, page: Page) -> list[TimelineItem]:
    t, in_channel = turn.t, channel_id_of(turn.context.activity) is not None
    items = []
    for entry in page.entries:
        item = page.contacts[entry.id] if entry.kind == "contact" else page.decisions[entry.id]
        items.append(timeline_item(t, item, entry.on, hide_confidential=in_channel))
    return items


async def _card(turn: Turn, account: Account, offset: int) -> dict[str, Any]:
    async with turn.services.db.transaction() as session:
        page = await timeline_page(session, account.id, offset)
        items = _items(turn, page)
    return timeline_card(turn.t, account.id, account.name, items, offset=offset, total=page.total, today=turn.today)


async def show(turn: Turn) -> None:
    account = await named_account(turn, "command.timeline", "timeline.which")
    if account is not None:
        await turn.show(await _card(turn, account, 0))


async def page(turn: Turn, value: Mapping[str, Any]) -> Reply:
    read_meta(value, today=turn.today, max_age_days=turn.services.settings.form_max_age_days)  # ours, not stale
    account_id, offset = account_id_of(value), value.get("offset")
    if account_id is None or not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
        raise MalformedSubmission()
    async with turn.services.db.transaction() as session:
        account = await get_account(session, account_id)
        require_team_member(account, await find_person(session, turn.caller))
    return Reply(card=await _card(turn, account, offset))
