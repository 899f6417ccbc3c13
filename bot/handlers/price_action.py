"""log price action: a country's offer for all its customers; key accounts with sites there are warned."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.services import Reply, Turn
from cards.contact import FormState, read_meta
from cards.price_action import (
    parse_price_action,
    price_action_form_card,
    price_action_logged_card,
    price_action_view,
)
from kam.accounts import accounts_of
from kam.errors import DuplicateSubmission, UnknownPerson
from kam.people import find_person
from kam.price_actions import find_price_action_by_key, log_price_action


async def start(turn: Turn) -> None:
    async with turn.services.db.transaction() as session:
        if not await accounts_of(session, await find_person(session, turn.caller)):
            raise UnknownPerson()
    await turn.show(price_action_form_card(turn.t, turn.today))


async def save(turn: Turn, value: Mapping[str, Any]) -> Reply:
    meta = read_meta(value, today=turn.today, max_age_days=turn.services.settings.form_max_age_days)
    try:
        async with turn.services.db.transaction() as session:
            person = await find_person(session, turn.caller)
            parsed = parse_price_action(turn.t, value, author=person, card_id=meta.card_id)
            if isinstance(parsed, FormState):
                return Reply(card=price_action_form_card(turn.t, turn.today, parsed, meta.card_id))
            action, at_risk = await log_price_action(session, parsed, turn.services.rules)
            card = price_action_logged_card(turn.t, price_action_view(action), [a.name for a in at_risk])
    except DuplicateSubmission:
        async with turn.services.db.transaction() as session:
            existing = await find_price_action_by_key(session, meta.card_id)
            if existing is None:
                raise
            return Reply(message=turn.t("error.duplicate"))
    turn.services.messenger.kick()
    return Reply(card=card)
