"""log decision: the same account resolution as log contact, a decision form, one post to the channel."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.resolve import form_context, pick_form, start_form
from bot.items import attention_for
from bot.requests import CommandRequest, VerbRequest
from bot.turn import Reply, Turn
from cards.contact import FormState
from cards.decision import decision_form_card, decision_logged_card, decision_view, parse_decision_submission
from kam.decisions import find_decision_by_key, log_decision
from kam.errors import Refused
from kam.models import Decision, ItemKind


async def start(turn: Turn, request: CommandRequest) -> None:
    await start_form(turn, request, "decision", decision_form_card)


async def pick(turn: Turn, request: VerbRequest) -> Reply:
    return await pick_form(turn, request, "decision", decision_form_card)


async def save(turn: Turn, request: VerbRequest) -> Reply:
    """Store the decision once; the form becomes a read-only card and the channel is told."""
    account = request.account
    assert account is not None, "the route names its account"
    parsed = parse_decision_submission(
        turn.t, request.value, author=request.person, account_id=account.id, card_id=request.meta.card_id
    )
    if isinstance(parsed, FormState):
        return Reply(card=decision_form_card(turn.t, form_context(account), turn.today, parsed, request.meta.card_id))
    decision = await log_decision(request.session, parsed, turn.services.rules)
    await request.session.refresh(decision, ["account", "logged_by", "communicator"])
    return Reply(card=await _logged(request.session, turn, decision), notify=True)


async def replay(turn: Turn, request: VerbRequest) -> Reply:
    existing = await find_decision_by_key(request.session, request.meta.card_id)
    author = request.person
    if existing is None or author is None or existing.logged_by_id != author.id:
        raise Refused()
    return Reply(card=await _logged(request.session, turn, existing))


async def _logged(session: AsyncSession, turn: Turn, decision: Decision) -> dict[str, Any]:
    """The read-only card, with what the checks found and who was asked to acknowledge."""
    item = (ItemKind.DECISION, decision.id)
    attention, _ = await attention_for(session, decision.account, item, decision.logged_by)
    return decision_logged_card(turn.t, decision_view(decision), attention)
