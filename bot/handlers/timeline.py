"""timeline / what's new: an account's latest contacts and decisions, a page at a time."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.resolve import named_account
from bot.requests import CommandRequest, VerbRequest
from bot.turn import Reply, Turn
from cards.errors import MalformedSubmission
from cards.timeline import TimelineItem, timeline_card, timeline_item
from kam.access import Principal, may_see_details
from kam.models import Account, Contact
from kam.subjects import contact_subject
from kam.timeline import timeline_page

MAX_OFFSET = 100_000


async def _card(
    session: AsyncSession, turn: Turn, principal: Principal, account: Account, offset: int
) -> dict[str, Any]:
    page = await timeline_page(session, account.id, offset)
    items: list[TimelineItem] = []
    for entry in page.entries:
        item: Any = page.contacts[entry.id] if entry.kind == "contact" else page.decisions[entry.id]
        hidden = isinstance(item, Contact) and not may_see_details(
            principal, await contact_subject(session, item), turn.audience
        )
        items.append(timeline_item(turn.t, item, entry.on, hide_confidential=hidden))
    return timeline_card(
        turn.t,
        account.id,
        account.name,
        items,
        offset=offset,
        total=page.total,
        today=turn.today,
        log_url=turn.services.links.to(account, "log"),
    )


async def show(turn: Turn, request: CommandRequest) -> None:
    account = await named_account(turn, request, "command.timeline", "timeline.which")
    if account is None:
        return
    async with turn.services.db.transaction() as session:
        card = await _card(session, turn, request.principal, account, 0)
    await turn.show(card)


async def page(turn: Turn, request: VerbRequest) -> Reply:
    offset = request.value.get("offset")
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
        raise MalformedSubmission()
    account = request.account
    assert account is not None, "the route names its account"
    return Reply(card=await _card(request.session, turn, request.principal, account, offset))
