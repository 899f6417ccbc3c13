"""log price action: a country's offer for all its customers; key accounts with sites there are warned."""

from __future__ import annotations

from typing import Any

from bot.handlers.forms import Replay, SaveForm
from bot.requests import CommandRequest, VerbRequest
from bot.turn import Reply, Turn
from cards.forms import FormState
from cards.price_action import (
    parse_price_action,
    price_action_form_card,
    price_action_logged_card,
    price_action_view,
)
from kam.access import team_accounts
from kam.models import Account, PriceAction
from kam.price_actions import LogPriceAction, find_price_action_by_key, log_price_action


async def start(turn: Turn, request: CommandRequest) -> None:
    await turn.show(price_action_form_card(turn.t, turn.today))


def _parse(turn: Turn, request: VerbRequest) -> LogPriceAction | FormState:
    return parse_price_action(turn.t, request.value, author=request.person, card_id=request.meta.card_id)


async def _form(turn: Turn, request: VerbRequest, state: FormState) -> dict[str, Any]:
    return price_action_form_card(turn.t, turn.today, state, request.meta.card_id)


async def _store(turn: Turn, request: VerbRequest, command: LogPriceAction) -> tuple[PriceAction, list[Account]]:
    return await log_price_action(request.session, command, turn.services.rules)


async def _answer(
    turn: Turn, request: VerbRequest, command: LogPriceAction, stored: tuple[PriceAction, list[Account]]
) -> dict[str, Any]:
    # The author hears which of their own accounts are at risk; of the others only how many (their names are
    # not the author's to know), while each of them is warned in its own channel.
    action, at_risk = stored
    mine = team_accounts(at_risk, request.principal)
    return price_action_logged_card(
        turn.t, price_action_view(action), [a.name for a in mine], others_at_risk=len(at_risk) - len(mine)
    )


async def _stored_again(turn: Turn, request: VerbRequest, action: PriceAction) -> Reply:
    return Reply(message=turn.t("error.duplicate"))


save = SaveForm(_parse, _form, _store, _answer).save
replay = Replay(find_price_action_by_key, _stored_again)
