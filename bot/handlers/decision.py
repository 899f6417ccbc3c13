"""log decision: the same account resolution as log contact, a decision form, one post to the channel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.resolve import form_context, pick_form, start_form, submitted_account
from bot.items import attention_for
from bot.services import Reply, Turn
from cards.contact import FormState, read_meta
from cards.decision import decision_form_card, decision_logged_card, decision_view, parse_decision_submission
from kam.decisions import find_decision_by_key, log_decision
from kam.errors import DuplicateSubmission
from kam.models import Decision, ItemKind


async def start(turn: Turn) -> None:
    await start_form(turn, "decision", decision_form_card)


async def pick(turn: Turn, value: Mapping[str, Any]) -> Reply:
    return await pick_form(turn, value, "decision", decision_form_card)


async def _reload(session: AsyncSession, decision: Decision) -> Decision:
    await session.refresh(decision, ["account", "logged_by", "communicator"])
    return decision


async def save(turn: Turn, value: Mapping[str, Any]) -> Reply:
    """Store the decision once; the form becomes a read-only card and the channel is told."""
    meta = read_meta(value, today=turn.today, max_age_days=turn.services.settings.form_max_age_days)
    try:
        async with turn.services.db.transaction() as session:
            person, account = await submitted_account(session, turn, value)
            parsed = parse_decision_submission(
                turn.t, value, author=person, account_id=account.id, card_id=meta.card_id
            )
            if isinstance(parsed, FormState):
                return Reply(card=decision_form_card(turn.t, form_context(account), turn.today, parsed, meta.card_id))
            decision = await _reload(session, await log_decision(session, parsed, turn.services.rules))
            card = await _logged(session, turn, decision)
    except DuplicateSubmission:
        async with turn.services.db.transaction() as session:
            existing = await find_decision_by_key(session, meta.card_id)
            if existing is None:
                raise
            return Reply(card=await _logged(session, turn, existing))
    turn.services.messenger.kick()
    return Reply(card=card)


async def _logged(session: AsyncSession, turn: Turn, decision: Decision) -> dict[str, Any]:
    """The read-only card, with what the checks found and who was asked to acknowledge."""
    item = (ItemKind.DECISION, decision.id)
    attention, _ = await attention_for(session, decision.account, item, decision.logged_by)
    return decision_logged_card(turn.t, decision_view(decision), attention)
