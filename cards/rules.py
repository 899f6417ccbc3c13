"""The communication rules of one account as a card: readable by the team, editable by its KA manager.

The editor has a multi-select per subject and per decision category, each offering the same targets:
the roles and up to FUNCTIONS_OFFERED functions. A function's name (up to 60 characters) would be
written into every one of those options and into each input's value, which at its longest fills a
card several times over; so an option's value is the target's position in the list the card offers,
and the list itself travels, sealed, in the save button's data (cards/seal.py): what is saved can only
be a target the card offered, and a function the rules name but the card could not offer is kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from microsoft_teams.cards import CardElement, Choice, ChoiceSetInput, NumberInput

from cards.build import callout, card, clean, heading, plain, static
from cards.errors import StaleCard
from cards.fit import first, names_text, shorten
from cards.forms import FormState, action_data, execute_action, field_error, form_state, new_card_id
from cards.i18n import Texts
from kam.models import DecisionCategory
from kam.rules import ABOUTS, HOURS_MAX, TARGETS, DecideRule, InformRule, RuleSet
from kam.text import plain_number

VERB_SAVE_RULES = "rules.save"
HOURS = ("remind_after_hours", "report_after_hours")
OFFERED = "targets"  # the save button's data: the targets the editor offers, in the order of its options
FUNCTIONS_OFFERED = 8  # the functions the rules in force name come first, then the team's
TARGET_WIDTH = 30  # characters of a target's name on the card
TARGETS_SHOWN = 6  # targets named on one line of the rules as they are
UNFILLED_SHOWN = 3


def _inform_id(about: str) -> str:
    return f"inform:{about}"


def _decide_id(category: DecisionCategory) -> str:
    return f"decide:{category.value}"


FIELDS = (*(_inform_id(a) for a in ABOUTS), *(_decide_id(c) for c in DecisionCategory), *HOURS)


def target_label(t: Texts, target: str) -> str:
    if target.startswith("function:"):
        return target.split(":", 1)[1]
    return t(f"target.{target}")


def _targets_text(t: Texts, targets: Sequence[str], empty_key: str) -> str:
    if not targets:
        return t(empty_key)
    return names_text(t, [target_label(t, x) for x in targets], most=TARGETS_SHOWN, width=TARGET_WIDTH)


def _hours(value: dt.timedelta | None) -> str:
    hours = (value or dt.timedelta()).total_seconds() / 3600
    return f"{hours:g}"


def _read_only(t: Texts, rules: RuleSet, unfilled: Sequence[str]) -> list[CardElement]:
    body: list[CardElement] = [static(t("rules.inform"), bold=True)]
    for about in ABOUTS:
        rule = rules.inform.get(about)
        text = _targets_text(t, rule.inform if rule else (), "rules.nobody")
        body.append(plain(f"{t(f'about.{about}')}: {text}"))
    body.append(static(t("rules.decide"), bold=True))
    for category in DecisionCategory:
        decide = rules.decide.get(category)
        text = _targets_text(t, decide.who if decide else (), "rules.anyone")
        body.append(plain(f"{t(f'category.{category.value}')}: {text}"))
    body.append(
        static(t("rules.timing", remind=_hours(rules.remind_after), report=_hours(rules.report_after)), subtle=True)
    )
    shown, more = first(unfilled, UNFILLED_SHOWN)
    for target in shown:
        label = shorten(target_label(t, target), TARGET_WIDTH)
        body.append(callout(t("rules.unfilled", target=label), "warning"))
    if more:
        body.append(callout(t("rules.unfilled.more", count=more), "warning", user_text=False))
    return body


def offered_targets(rules: RuleSet, functions: Sequence[str]) -> tuple[list[str], int]:
    """What the editor offers: the roles, then the functions the rules name, then the team's, FUNCTIONS_OFFERED
    of them at most; and how many functions were left out."""
    named = [x for rule in rules.inform.values() for x in rule.inform]
    named += [x for rule in rules.decide.values() for x in rule.who]
    team = [f"function:{f.lower()}" for f in functions]
    candidates = [x for x in dict.fromkeys([*named, *team]) if x.startswith("function:")]
    return [*TARGETS, *candidates[:FUNCTIONS_OFFERED]], max(len(candidates) - FUNCTIONS_OFFERED, 0)


def _positions(targets: str, offered: Sequence[str]) -> str | None:
    """Comma-separated targets as the editor's option values (their positions in `offered`)."""
    chosen = [p.strip() for p in targets.split(",") if p.strip()]
    return ",".join(str(offered.index(x)) for x in chosen if x in offered) or None


def _editor(t: Texts, rules: RuleSet, offered: Sequence[str], state: FormState | None) -> list[CardElement]:
    values = state.values if state else {}
    choices = [
        Choice(title=clean(shorten(target_label(t, x), TARGET_WIDTH)), value=str(i)) for i, x in enumerate(offered)
    ]
    body: list[CardElement] = [static(t("rules.edit"), bold=True), static(t("rules.edit.applies"), subtle=True)]
    if state and state.errors:
        body.append(callout(t("form.fix_errors"), "attention", bold=True, user_text=False))

    def targets_input(name: str, label: str, current: Sequence[str], placeholder: str | None) -> list[CardElement]:
        element = ChoiceSetInput(
            id=name,
            label=label,
            placeholder=placeholder,
            style="compact",
            is_multi_select=True,
            value=_positions(values.get(name, ",".join(current)), offered),
            choices=choices,
        )
        return [element, *(field_error(state, name) if state else [])]

    for about in ABOUTS:
        rule = rules.inform.get(about)
        label = t("rules.edit.inform", about=t(f"about.{about}"))
        body += targets_input(_inform_id(about), label, rule.inform if rule else (), None)
    for category in DecisionCategory:
        decide = rules.decide.get(category)
        label = t("rules.edit.decide", category=t(f"category.{category.value}"))
        body += targets_input(_decide_id(category), label, decide.who if decide else (), t("rules.anyone"))
    for name, current in zip(HOURS, (rules.remind_after, rules.report_after), strict=True):
        body += [
            NumberInput(
                id=name,
                label=t(f"rules.edit.{name}"),
                min=1,
                max=HOURS_MAX,
                value=_shown_hours(values.get(name), current),
                is_required=True,
                error_message=t("rules.bad_hours", max=HOURS_MAX),
            ),
            *(field_error(state, name) if state else []),
        ]
    return body


def _shown_hours(typed: str | None, current: dt.timedelta | None) -> float:
    if typed and _is_number(typed):
        return float(typed)
    return float(_hours(current))


def _is_number(raw: str) -> bool:
    try:
        float(raw)
    except ValueError:
        return False
    return True


def rules_card(
    t: Texts,
    *,
    account_id: int,
    account_name: str,
    rules: RuleSet,
    functions: Sequence[str],
    unfilled: Sequence[str],
    editable: bool,
    today: dt.date,
    state: FormState | None = None,
    card_id: str | None = None,
    saved: bool = False,
) -> dict[str, Any]:
    body: list[CardElement] = [heading(t("rules.title", account=account_name)), static(t("rules.intro"))]
    if saved:
        body.append(callout(t("rules.saved"), "good", bold=True, user_text=False))
    body += _read_only(t, rules, unfilled)
    body += [static(t("rules.checks"), bold=True), *(static(t(f"rules.check.{n}")) for n in (1, 2, 3))]
    actions = []
    if editable:
        offered, left_out = offered_targets(rules, functions)
        body += _editor(t, rules, offered, state)
        if left_out:
            body.append(static(t("rules.edit.more_functions", count=left_out), subtle=True))
        data = action_data(
            VERB_SAVE_RULES, card_id or new_card_id(), today, account_id=account_id, **{OFFERED: offered}
        )
        actions.append(execute_action(t("rules.save"), data))
    else:
        body.append(static(t("rules.only_managers"), subtle=True))
    return card(body, actions, fallback_text=t("rules.title", account=account_name))


def parse_rules_submission(t: Texts, value: Mapping[str, Any], in_force: RuleSet) -> RuleSet | FormState:
    """The rules as the KA manager set them (with what `in_force` names that the card could not offer); the
    form state (the targets chosen, by name) and a message per field when something is wrong.

    StaleCard: a card from before the editor sent its targets."""
    offered = _offered(value.get(OFFERED))
    state = form_state(value, FIELDS)
    values, errors = state.values, state.errors
    inform: dict[str, InformRule] = {}
    decide: dict[DecisionCategory, DecideRule] = {}
    for about in ABOUTS:
        rule = in_force.inform.get(about)
        targets = _parse_targets(values, _inform_id(about), offered, rule.inform if rule else ())
        if targets is None:
            errors[_inform_id(about)] = t("field.bad_choice")
        else:
            inform[about] = InformRule(about, targets)
    for category in DecisionCategory:
        decider = in_force.decide.get(category)
        targets = _parse_targets(values, _decide_id(category), offered, decider.who if decider else ())
        if targets is None:
            errors[_decide_id(category)] = t("field.bad_choice")
        else:
            decide[category] = DecideRule(category, targets)
    hours: list[dt.timedelta | None] = []
    for name in HOURS:
        raw = values.get(name, "")
        number = float(raw) if _is_number(raw) else 0.0
        if not 1 <= number <= HOURS_MAX:
            errors[name] = t("rules.bad_hours", max=HOURS_MAX)
        hours.append(dt.timedelta(hours=number))
    if errors:
        return state
    return RuleSet(inform, decide, hours[0], hours[1])


def _offered(raw: object) -> list[str]:
    """The targets the editor offered, from its sealed data (what a card sends is checked all the same)."""
    if not isinstance(raw, list) or len(raw) > len(TARGETS) + FUNCTIONS_OFFERED:
        raise StaleCard()
    if not all(isinstance(x, str) and (x in TARGETS or x.startswith("function:") and len(x) <= 69) for x in raw):
        raise StaleCard()
    return raw


def _parse_targets(
    values: dict[str, str], name: str, offered: Sequence[str], current: Sequence[str]
) -> tuple[str, ...] | None:
    """The targets an input chose, by their positions in `offered`, and those of `current` it could not offer;
    written back into `values` by name, so that a form shown again keeps them. None if a position is not one
    the card offered."""
    positions = [p.strip() for p in values.get(name, "").split(",") if p.strip()]
    picked = [plain_number(p) for p in positions]
    if not all(p is not None and p < len(offered) for p in picked):
        return None
    chosen = [offered[p] for p in picked if p is not None]
    targets = tuple(dict.fromkeys([*chosen, *(x for x in current if x not in offered)]))
    values[name] = ",".join(targets)
    return targets
