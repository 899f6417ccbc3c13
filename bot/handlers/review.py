"""review plan: the KA manager starts a plan review; owners update; the manager reminds and closes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.resolve import named_account, submitted_account
from bot.items import item_card
from bot.services import Reply, Turn
from cards.contact import FormState, read_meta
from cards.errors import MalformedSubmission
from cards.review import parse_due_on, parse_review_updates, review_start_card, review_summary_card
from kam.accounts import get_account
from kam.errors import NotAllowed
from kam.models import Account, ItemKind, Person, Review
from kam.people import find_person
from kam.plans import may_edit_everything
from kam.reviews import close_review, get_review, open_review, remind_owners, start_review, update_items


class ReviewRef(BaseModel):
    review_id: int = Field(ge=1, lt=2**31)
    account_id: int = Field(ge=1, lt=2**31)


async def start(turn: Turn) -> None:
    """KA managers get the start card (due date); a running review is shown instead of a second one."""
    account = await named_account(turn, "command.review_plan", "review.which")
    if account is None:
        return
    async with turn.services.db.transaction() as session:
        person = await find_person(session, turn.caller)
        if not may_edit_everything(account, person):
            raise NotAllowed()
        running = await open_review(session, account.id)
        if running is not None:
            await turn.say(turn.t("review.running"))
            await turn.show(await _card(session, turn, account, running, person))
            return
    await turn.show(review_start_card(turn.t, account.id, account.name, turn.today))


async def start_save(turn: Turn, value: Mapping[str, Any]) -> Reply:
    meta = read_meta(value, today=turn.today, max_age_days=turn.services.settings.form_max_age_days)
    async with turn.services.db.transaction() as session:
        person, account = await submitted_account(session, turn, value)
        due = parse_due_on(turn.t, value, turn.today)
        if isinstance(due, FormState):
            return Reply(card=review_start_card(turn.t, account.id, account.name, turn.today, due, meta.card_id))
        review = await start_review(session, turn.services.rules, account, person, due)
        card = await _card(session, turn, account, review, person)
    turn.services.messenger.kick()
    return Reply(card=card)


async def _card(session: AsyncSession, turn: Turn, account: Account, review: Review, person: Person | None) -> dict:
    return await item_card(session, turn.t, account, (ItemKind.REVIEW, review.id), person, in_channel=True)


async def _review(session: AsyncSession, value: Mapping[str, Any]) -> tuple[Account, Review]:
    try:
        ref = ReviewRef.model_validate(dict(value))
    except ValidationError:
        raise MalformedSubmission() from None
    account = await get_account(session, ref.account_id)
    review = await get_review(session, ref.review_id)
    if review is None or review.account_id != account.id:
        raise MalformedSubmission()
    return account, review


async def update(turn: Turn, value: Mapping[str, Any]) -> Reply:
    async with turn.services.db.transaction() as session:
        account, review = await _review(session, value)
        person = await find_person(session, turn.caller)
        updates = parse_review_updates(value, [u.item_id for u in review.updates])
        await update_items(session, account, review, person, updates)
        return Reply(card=await _card(session, turn, account, review, person))


async def remind(turn: Turn, value: Mapping[str, Any]) -> Reply:
    async with turn.services.db.transaction() as session:
        account, review = await _review(session, value)
        reminded = await remind_owners(session, account, review, await find_person(session, turn.caller))
    turn.services.messenger.kick()
    names = ", ".join(reminded)
    return Reply(message=turn.t("review.reminded", names=names) if reminded else turn.t("review.nobody_to_remind"))


async def close(turn: Turn, value: Mapping[str, Any]) -> Reply:
    async with turn.services.db.transaction() as session:
        account, review = await _review(session, value)
        closed = await close_review(session, account, review, await find_person(session, turn.caller))
        card = review_summary_card(turn.t, account.name, closed.plan_version or 0, closed.summary or {})
    turn.services.messenger.kick()
    return Reply(card=card)
