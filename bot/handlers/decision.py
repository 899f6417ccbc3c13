"""log decision: the same account resolution as log contact, a decision form, one post to the channel."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.forms import Replay, SaveForm, account_form, the_account
from bot.handlers.resolve import pick_form, start_form
from bot.items import attention_for
from bot.new_forms import service_options
from bot.requests import CommandRequest, VerbRequest
from bot.turn import Reply, Turn
from cards.decision import decision_form_card, decision_logged_card, decision_view, parse_decision_submission
from cards.forms import FormState
from kam.decisions import LogDecision, find_decision_by_key, log_decision
from kam.models import Decision, ItemKind


async def start(turn: Turn, request: CommandRequest) -> None:
    await start_form(turn, request, "decision", decision_form_card)


async def pick(turn: Turn, request: VerbRequest) -> Reply:
    return await pick_form(turn, request, "decision", decision_form_card)


def _parse(turn: Turn, request: VerbRequest) -> LogDecision | FormState:
    account_id = the_account(request).id
    return parse_decision_submission(
        turn.t,
        request.value,
        author=request.person,
        account_id=account_id,
        card_id=request.meta.card_id,
        services=service_options(turn.services.catalogue, turn.t.language),
    )


async def _store(turn: Turn, request: VerbRequest, command: LogDecision) -> Decision:
    decision = await log_decision(request.session, command, turn.services.rules, turn.services.catalogue)
    await request.session.refresh(decision, ["account", "logged_by", "communicator"])
    return decision


async def _answer(turn: Turn, request: VerbRequest, command: LogDecision, decision: Decision) -> dict[str, Any]:
    return await _logged(request.session, turn, decision)


async def _stored_again(turn: Turn, request: VerbRequest, decision: Decision) -> Reply:
    return Reply(card=await _logged(request.session, turn, decision))


# Store the decision once; the form becomes a read-only card and the channel is told.
save = SaveForm(_parse, account_form(decision_form_card), _store, _answer).save
replay = Replay(find_decision_by_key, _stored_again)


async def _logged(session: AsyncSession, turn: Turn, decision: Decision) -> dict[str, Any]:
    """The read-only card, with what the checks found and who was asked to acknowledge."""
    item = (ItemKind.DECISION, decision.id)
    attention, _ = await attention_for(session, decision.account, item, decision.logged_by)
    return decision_logged_card(turn.t, decision_view(decision), attention)
