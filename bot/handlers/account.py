"""new account: KA managers add a key account from the chat."""

from __future__ import annotations

from bot.requests import CommandRequest, VerbRequest
from bot.turn import Reply, Turn
from cards.account import account_created_card, name_taken, new_account_card, parse_new_account
from cards.forms import FormState
from kam.accounts import create_account
from kam.errors import AccountExists


async def new_account(turn: Turn, request: CommandRequest) -> None:
    await turn.show(new_account_card(turn.t, turn.today))


async def create(turn: Turn, request: VerbRequest) -> Reply:
    card_id = request.meta.card_id
    parsed = parse_new_account(turn.t, request.value)
    if isinstance(parsed, FormState):
        return Reply(card=new_account_card(turn.t, turn.today, parsed, card_id))
    try:
        await create_account(request.session, parsed, request.principal)
    except AccountExists:
        return Reply(card=new_account_card(turn.t, turn.today, name_taken(turn.t, request.value), card_id))
    return Reply(card=account_created_card(turn.t, parsed.name, parsed.tier))
