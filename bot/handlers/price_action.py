"""log price action: a country's offer for all its customers; key accounts with sites there are warned."""

from __future__ import annotations

from bot.requests import CommandRequest, VerbRequest
from bot.turn import Reply, Turn
from cards.contact import FormState
from cards.price_action import (
    parse_price_action,
    price_action_form_card,
    price_action_logged_card,
    price_action_view,
)
from kam.access import team_accounts
from kam.errors import Refused
from kam.price_actions import find_price_action_by_key, log_price_action


async def start(turn: Turn, request: CommandRequest) -> None:
    await turn.show(price_action_form_card(turn.t, turn.today))


async def save(turn: Turn, request: VerbRequest) -> Reply:
    parsed = parse_price_action(turn.t, request.value, author=request.person, card_id=request.meta.card_id)
    if isinstance(parsed, FormState):
        return Reply(card=price_action_form_card(turn.t, turn.today, parsed, request.meta.card_id))
    action, at_risk = await log_price_action(request.session, parsed, turn.services.rules)
    # The author hears which of their own accounts are at risk; of the others only how many (their names are
    # not the author's to know), while each of them is warned in its own channel.
    mine = team_accounts(at_risk, request.principal)
    card = price_action_logged_card(
        turn.t, price_action_view(action), [a.name for a in mine], others_at_risk=len(at_risk) - len(mine)
    )
    return Reply(card=card, notify=True)


async def replay(turn: Turn, request: VerbRequest) -> Reply:
    existing = await find_price_action_by_key(request.session, request.meta.card_id)
    if existing is None or request.person is None or existing.logged_by_id != request.person.id:
        raise Refused()
    return Reply(message=turn.t("error.duplicate"))
