"""rules [account]: the account's communication rules for the team; the KA manager edits them in the card."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from bot.handlers.resolve import named_account, submitted_account
from bot.services import Reply, Turn
from cards.contact import FormState, read_meta
from cards.i18n import Texts
from cards.rules import parse_rules_submission, rules_card
from kam.models import Account, Person
from kam.people import find_person
from kam.rules import ABOUTS, Rules, RuleSet, change_account_rules, may_change_rules, unfilled_targets


def _card(
    t: Texts,
    rules: Rules,
    account: Account,
    person: Person | None,
    today: dt.date,
    *,
    state: FormState | None = None,
    card_id: str | None = None,
    saved: bool = False,
) -> dict[str, Any]:
    in_force: RuleSet = rules.for_account(account)
    functions = sorted({m.function for m in account.members if m.function})
    return rules_card(
        t,
        account_id=account.id,
        account_name=account.name,
        rules=in_force,
        functions=functions,
        unfilled=unfilled_targets(rules, account, ABOUTS),
        editable=may_change_rules(account, person),
        today=today,
        state=state,
        card_id=card_id,
        saved=saved,
    )


async def show(turn: Turn) -> None:
    account = await named_account(turn, "command.rules", "rules.which")
    if account is None:
        return
    async with turn.services.db.transaction() as session:
        person = await find_person(session, turn.caller)
    await turn.show(_card(turn.t, turn.services.rules, account, person, turn.today))


async def save(turn: Turn, value: Mapping[str, Any]) -> Reply:
    """The KA manager's rules apply to what is logged from now on; open items keep whom they were sent to."""
    meta = read_meta(value, today=turn.today, max_age_days=turn.services.settings.form_max_age_days)
    rules = turn.services.rules
    async with turn.services.db.transaction() as session:
        person, account = await submitted_account(session, turn, value)
        parsed = parse_rules_submission(turn.t, value)
        if isinstance(parsed, FormState):
            return Reply(card=_card(turn.t, rules, account, person, turn.today, state=parsed, card_id=meta.card_id))
        change_account_rules(rules, account, person, parsed)
        return Reply(card=_card(turn.t, rules, account, person, turn.today, saved=True))
