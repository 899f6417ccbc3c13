"""The communication rules of one account as a card: readable by the team, editable by its KA manager."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from microsoft_teams.cards import CardElement, Choice, ChoiceSetInput, NumberInput

from cards.build import card, clean, heading, plain, static
from cards.forms import FormState, action_data, execute_action, field_error, form_state, new_card_id
from cards.i18n import Texts
from kam.models import DecisionCategory
from kam.rules import ABOUTS, HOURS_MAX, TARGETS, DecideRule, InformRule, RuleSet

VERB_SAVE_RULES = "rules.save"
HOURS = ("remind_after_hours", "report_after_hours")


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
    return ", ".join(target_label(t, x) for x in targets) if targets else t(empty_key)


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
    for target in unfilled:
        body.append(plain(t("rules.unfilled", target=target_label(t, target)), color="Warning"))
    return body


def _choices(t: Texts, functions: Sequence[str]) -> list[Choice]:
    options = [*TARGETS, *(f"function:{f.lower()}" for f in functions)]
    return [Choice(title=clean(target_label(t, o)), value=o) for o in dict.fromkeys(options)]


def _editor(t: Texts, rules: RuleSet, functions: Sequence[str], state: FormState | None) -> list[CardElement]:
    values = state.values if state else {}
    choices = _choices(t, functions)
    body: list[CardElement] = [static(t("rules.edit"), bold=True), static(t("rules.edit.applies"), subtle=True)]
    if state and state.errors:
        body.append(static(t("form.fix_errors"), color="Attention", bold=True))

    def targets_input(name: str, label: str, current: Sequence[str], placeholder: str | None) -> list[CardElement]:
        element = ChoiceSetInput(
            id=name,
            label=label,
            placeholder=placeholder,
            style="compact",
            is_multi_select=True,
            value=values.get(name, ",".join(current)) or None,
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
        body.append(static(t("rules.saved"), color="Good", bold=True))
    body += _read_only(t, rules, unfilled)
    body += [static(t("rules.checks"), bold=True), *(static(t(f"rules.check.{n}")) for n in (1, 2, 3))]
    actions = []
    if editable:
        body += _editor(t, rules, functions, state)
        data = action_data(VERB_SAVE_RULES, card_id or new_card_id(), today, account_id=account_id)
        actions.append(execute_action(t("rules.save"), data))
    else:
        body.append(static(t("rules.only_managers"), subtle=True))
    return card(body, actions, fallback_text=t("rules.title", account=account_name))


def parse_rules_submission(t: Texts, value: Mapping[str, Any]) -> RuleSet | FormState:
    """The rules as the KA manager set them; the form state with messages when something is wrong."""
    state = form_state(value, FIELDS)
    values, errors = state.values, state.errors
    inform: dict[str, InformRule] = {}
    decide: dict[DecisionCategory, DecideRule] = {}
    for about in ABOUTS:
        targets = _parse_targets(values.get(_inform_id(about), ""))
        if targets is None:
            errors[_inform_id(about)] = t("field.bad_choice")
        else:
            inform[about] = InformRule(about, targets)
    for category in DecisionCategory:
        targets = _parse_targets(values.get(_decide_id(category), ""))
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


def _parse_targets(raw: str) -> tuple[str, ...] | None:
    targets = tuple(dict.fromkeys(p.strip().lower() for p in raw.split(",") if p.strip()))
    if not all(x in TARGETS or (x.startswith("function:") and 0 < len(x) <= 69) for x in targets):
        return None
    return targets
