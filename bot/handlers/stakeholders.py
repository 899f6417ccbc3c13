"""add stakeholder and stakeholders: the customer's people and the relationship map."""

from __future__ import annotations

from bot.handlers.resolve import form_context, named_account, pick_form, start_form
from bot.requests import CommandRequest, VerbRequest
from bot.turn import Reply, Turn
from cards.contact import FormState, form_state
from cards.stakeholders import (
    FIELDS,
    StakeholderLine,
    parse_stakeholder,
    relationship_map_card,
    stakeholder_added_card,
    stakeholder_form_card,
)
from kam.accounts import get_account
from kam.stakeholders import StakeholderExists, add_stakeholder, relationship_picture


async def add_start(turn: Turn, request: CommandRequest) -> None:
    await start_form(turn, request, "stakeholder", stakeholder_form_card)


async def pick(turn: Turn, request: VerbRequest) -> Reply:
    return await pick_form(turn, request, "stakeholder", stakeholder_form_card)


async def save(turn: Turn, request: VerbRequest) -> Reply:
    account = request.account
    assert account is not None, "the route names its account"
    context = form_context(account)
    card_id = request.meta.card_id
    parsed = parse_stakeholder(turn.t, request.value, author=request.person, account_id=account.id)
    if isinstance(parsed, FormState):
        return Reply(card=stakeholder_form_card(turn.t, context, turn.today, parsed, card_id))
    try:
        await add_stakeholder(request.session, parsed)
    except StakeholderExists:
        state = form_state(request.value, FIELDS)
        state.errors["name"] = turn.t("error.stakeholder_exists")
        return Reply(card=stakeholder_form_card(turn.t, context, turn.today, state, card_id))
    return Reply(card=stakeholder_added_card(turn.t, context.account_name, parsed.name))


async def show_map(turn: Turn, request: CommandRequest) -> None:
    account = await named_account(turn, request, "command.stakeholders", "stakeholders.which")
    if account is None:
        return
    async with turn.services.db.transaction() as session:
        account = await get_account(session, account.id)
        picture = await relationship_picture(session, account, turn.today)
        lines = [
            StakeholderLine(
                c.stakeholder.name,
                c.stakeholder.title or "",
                c.stakeholder.level,
                c.stakeholder.attitude,
                c.stakeholder.owner.name if c.stakeholder.owner else "",
                c.last_met,
                c.met_by,
                c.covered,
            )
            for c in picture.coverage
        ]
    await turn.show(relationship_map_card(turn.t, account.name, picture.model, lines))
