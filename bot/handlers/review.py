"""review plan: the KA manager starts a plan review; owners update; the manager reminds and closes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.resolve import named_account
from bot.items import item_card
from bot.requests import CommandRequest, VerbRequest
from bot.turn import Reply, Turn
from cards.fit import names_text
from cards.forms import FormState
from cards.review import parse_due_on, parse_review_updates, review_start_card, review_summary_card
from kam.access import Audience
from kam.models import Account, ItemKind, Person, Review
from kam.reviews import close_review, open_review, remind_owners, start_review, update_items


async def start(turn: Turn, request: CommandRequest) -> None:
    """KA managers get the start card (due date); a running review is shown instead of a second one."""
    account = await named_account(turn, request, "command.review_plan", "review.which")
    if account is None:
        return
    async with turn.services.db.transaction() as session:
        running = await open_review(session, account.id)
        card = await _card(session, turn, account, running, request.person) if running is not None else None
    if card is not None:
        await turn.say(turn.t("review.running"))
        await turn.show(card)
        return
    await turn.show(review_start_card(turn.t, account.id, account.name, turn.today))


async def start_save(turn: Turn, request: VerbRequest) -> Reply:
    account = request.account
    assert account is not None, "the route names its account"
    due = parse_due_on(turn.t, request.value, turn.today)
    if isinstance(due, FormState):
        return Reply(card=review_start_card(turn.t, account.id, account.name, turn.today, due, request.meta.card_id))
    review = await start_review(request.session, turn.services.rules, account, request.person, due)
    return Reply(card=await _card(request.session, turn, account, review, request.person), notify=True)


async def _card(
    session: AsyncSession, turn: Turn, account: Account, review: Review, person: Person | None
) -> dict[str, Any]:
    item = (ItemKind.REVIEW, review.id)
    return await item_card(session, turn.t, account, item, person, audience=Audience.SHARED, links=turn.services.links)


def _review(request: VerbRequest) -> tuple[Account, Review]:
    account = request.account
    assert account is not None, "the route names its account"
    return account, request.row


async def update(turn: Turn, request: VerbRequest) -> Reply:
    account, review = _review(request)
    updates = parse_review_updates(request.value, [u.item_id for u in review.updates])
    await update_items(request.session, account, review, request.person, updates)
    return Reply(card=await _card(request.session, turn, account, review, request.person))


async def remind(turn: Turn, request: VerbRequest) -> Reply:
    account, review = _review(request)
    reminded = await remind_owners(request.session, account, review, request.person)
    names = names_text(turn.t, reminded)
    message = turn.t("review.reminded", names=names) if reminded else turn.t("review.nobody_to_remind")
    return Reply(message=message, notify=bool(reminded))


async def close(turn: Turn, request: VerbRequest) -> Reply:
    account, review = _review(request)
    closed = await close_review(request.session, account, review, request.person)
    plan_url = turn.services.links.to(account, "plan")
    card = review_summary_card(turn.t, account.name, closed.plan_version or 0, closed.summary or {}, plan_url)
    return Reply(card=card, notify=True)
