"""rules [account]: the account's communication rules for the team; the KA manager edits them in the card."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.handlers.resolve import named_account
from bot.requests import CommandRequest, VerbRequest
from bot.turn import Reply, Turn
from cards.forms import FormState
from cards.i18n import Texts
from cards.rules import parse_rules_submission, rules_card
from kam.models import Account, Person
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


async def show(turn: Turn, request: CommandRequest) -> None:
    account = await named_account(turn, request, "command.rules", "rules.which")
    if account is not None:
        await turn.show(_card(turn.t, turn.services.rules, account, request.person, turn.today))


async def save(turn: Turn, request: VerbRequest) -> Reply:
    """The KA manager's rules apply to what is logged from now on; open items keep whom they were sent to."""
    rules = turn.services.rules
    account, person = request.account, request.person
    assert account is not None, "the route names its account"
    parsed = parse_rules_submission(turn.t, request.value, rules.for_account(account))
    if isinstance(parsed, FormState):
        card = _card(turn.t, rules, account, person, turn.today, state=parsed, card_id=request.meta.card_id)
        return Reply(card=card)
    change_account_rules(rules, account, person, parsed)
    return Reply(card=_card(turn.t, rules, account, person, turn.today, saved=True))
