"""add stakeholder and stakeholders: the customer's people and the relationship map."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.handlers.resolve import form_context, named_account, pick_form, start_form, submitted_account
from bot.services import Reply, Turn
from cards.contact import FormState, form_state, read_meta
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


async def add_start(turn: Turn) -> None:
    await start_form(turn, "stakeholder", stakeholder_form_card)


async def pick(turn: Turn, value: Mapping[str, Any]) -> Reply:
    return await pick_form(turn, value, "stakeholder", stakeholder_form_card)


async def save(turn: Turn, value: Mapping[str, Any]) -> Reply:
    meta = read_meta(value, today=turn.today, max_age_days=turn.services.settings.form_max_age_days)
    try:
        async with turn.services.db.transaction() as session:
            person, account = await submitted_account(session, turn, value)
            context = form_context(account)
            parsed = parse_stakeholder(turn.t, value, author=person, account_id=account.id)
            if isinstance(parsed, FormState):
                return Reply(card=stakeholder_form_card(turn.t, context, turn.today, parsed, meta.card_id))
            await add_stakeholder(session, parsed)
    except StakeholderExists:
        state = form_state(value, FIELDS)
        state.errors["name"] = turn.t("error.stakeholder_exists")
        return Reply(card=stakeholder_form_card(turn.t, context, turn.today, state, meta.card_id))
    return Reply(card=stakeholder_added_card(turn.t, context.account_name, parsed.name))


async def show_map(turn: Turn) -> None:
    account = await named_account(turn, "command.stakeholders", "stakeholders.which")
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
