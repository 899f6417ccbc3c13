"""add stakeholder and stakeholders: the customer's people and the relationship map."""

from __future__ import annotations

from typing import Any

from bot.handlers.forms import SaveForm, account_form, the_account
from bot.handlers.resolve import named_account, pick_form, start_form
from bot.requests import CommandRequest, VerbRequest
from bot.turn import Reply, Turn
from cards.forms import FormState
from cards.stakeholders import (
    FIELDS,
    StakeholderLine,
    parse_stakeholder,
    relationship_map_card,
    stakeholder_added_card,
    stakeholder_form_card,
)
from kam.accounts import get_account
from kam.models import Stakeholder
from kam.stakeholders import AddStakeholder, StakeholderExists, add_stakeholder, relationship_picture


async def add_start(turn: Turn, request: CommandRequest) -> None:
    await start_form(turn, request, "stakeholder", stakeholder_form_card)


async def pick(turn: Turn, request: VerbRequest) -> Reply:
    return await pick_form(turn, request, "stakeholder", stakeholder_form_card)


def _parse(turn: Turn, request: VerbRequest) -> AddStakeholder | FormState:
    return parse_stakeholder(turn.t, request.value, author=request.person, account_id=the_account(request).id)


async def _store(turn: Turn, request: VerbRequest, command: AddStakeholder) -> Stakeholder:
    return await add_stakeholder(request.session, command)


async def _answer(turn: Turn, request: VerbRequest, command: AddStakeholder, added: Stakeholder) -> dict[str, Any]:
    return stakeholder_added_card(turn.t, the_account(request).name, command.name)


save = SaveForm(
    _parse,
    account_form(stakeholder_form_card),
    _store,
    _answer,
    notify=False,
    fields=FIELDS,
    conflicts={StakeholderExists: ("name", "error.stakeholder_exists")},
).save


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
    tab_url = turn.services.links.to(account, "stakeholders")
    await turn.show(relationship_map_card(turn.t, account.name, picture.model, lines, tab_url))
