"""Stakeholder cards: adding a customer person, and the relationship map of an account."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from microsoft_teams.cards import CardElement, Choice, ChoiceSetInput, TextInput

from cards.build import callout, card, heading, plain, static
from cards.fit import NAME_WIDTH, NAMES_SHOWN, first, names_text, shorten, to_tab
from cards.forms import (
    FormContext,
    FormState,
    action_data,
    execute_action,
    field_error,
    form_state,
    new_card_id,
    parse_ids,
    team_choice,
)
from cards.i18n import Texts
from kam.models import Attitude, BuyingRole, StakeholderLevel
from kam.stakeholders import NAME_MAX, AddStakeholder

VERB_ADD_STAKEHOLDER = "stakeholder.save"
TEXT_FIELDS = {"name": NAME_MAX, "title": 200, "function": 100}
CHOICES: dict[str, type[StrEnum]] = {"level": StakeholderLevel, "buying_role": BuyingRole, "attitude": Attitude}
FIELDS = (*TEXT_FIELDS, *CHOICES, "owner")
# An account has as many stakeholders as are added: the map lists the first MAP_SHOWN (by name) with the three
# of ours who met each most recently, and names the uncovered; the Stakeholders tab has everyone.
MAP_SHOWN = 15
MET_BY_SHOWN = 3


def stakeholder_form_card(
    t: Texts, form: FormContext, today: dt.date, state: FormState | None = None, card_id: str | None = None
) -> dict[str, Any]:
    state = state or FormState()
    title = t("stakeholder.form.title", account=form.account_name)
    body: list[CardElement] = [heading(title)]
    if state.errors:
        body.append(callout(t("form.fix_errors"), "attention", bold=True, user_text=False))
    for name, limit in TEXT_FIELDS.items():
        required = name == "name"
        body += [
            TextInput(
                id=name,
                label=t("stakeholder.form.job_title" if name == "title" else f"stakeholder.form.{name}"),
                value=state.values.get(name) or None,
                max_length=limit,
                is_required=required or None,
                error_message=t("field.required") if required else None,
            ),
            *field_error(state, name),
        ]
    for name, kind in CHOICES.items():
        body += [
            ChoiceSetInput(
                id=name,
                label=t(f"stakeholder.form.{name}"),
                style="compact",
                value=state.values.get(name) or None,
                choices=[Choice(title=t(f"{name}.{member.value}"), value=member.value) for member in kind],
            ),
            *field_error(state, name),
        ]
    body += team_choice(t, state, "owner", t("stakeholder.form.owner"), form.team)
    data = action_data(VERB_ADD_STAKEHOLDER, card_id or new_card_id(), today, account_id=form.account_id)
    return card(body, [execute_action(t("stakeholder.form.submit"), data)], fallback_text=title)


def parse_stakeholder(
    t: Texts, value: Mapping[str, Any], *, author: Any, account_id: int
) -> AddStakeholder | FormState:
    state = form_state(value, FIELDS)
    values, errors = state.values, state.errors
    values["name"] = re.sub(r"\s+", " ", values.get("name", ""))
    for name, limit in TEXT_FIELDS.items():
        if len(values.get(name, "")) > limit:
            errors[name] = t("field.too_long", max=limit, length=len(values[name]))
    if not values["name"]:
        errors["name"] = t("field.required")
    chosen: dict[str, Any] = {}
    for name, kind in CHOICES.items():
        raw = values.get(name, "")
        if raw and raw not in {member.value for member in kind}:
            errors[name] = t("field.bad_choice")
        chosen[name] = kind(raw) if raw and name not in errors else None
    owner = parse_ids(values.get("owner", ""))
    if owner is None or len(owner) > 1:
        errors["owner"] = t("field.bad_choice")
    if errors:
        return state
    return AddStakeholder(
        account_id=account_id,
        author=author,
        name=values["name"],
        title=values.get("title", ""),
        function=values.get("function", ""),
        owner_id=owner[0] if owner else None,
        **chosen,
    )


@dataclass(frozen=True)
class StakeholderLine:
    name: str
    title: str
    level: StakeholderLevel | None
    attitude: Attitude | None
    owner: str
    last_met: dt.date | None
    met_by: tuple[str, ...]
    covered: bool


def stakeholder_added_card(t: Texts, account_name: str, name: str) -> dict[str, Any]:
    body: list[CardElement] = [heading(t("stakeholder.added.title", account=account_name)), plain(name, bold=True)]
    body.append(static(t("stakeholder.added.next"), subtle=True))
    return card(body, fallback_text=t("stakeholder.added.title", account=account_name))


def relationship_map_card(
    t: Texts, account_name: str, model: str, lines: list[StakeholderLine], tab_url: str | None = None
) -> dict[str, Any]:
    """`tab_url`: the account's Stakeholders tab, linked when the card cannot show everyone."""
    title = t("stakeholders.title", account=account_name)
    body: list[CardElement] = [heading(title), static(t(f"model.{model.replace(':', '_')}"))]
    if not lines:
        body.append(static(t("stakeholders.none")))
    shown, more = first(lines, MAP_SHOWN)
    for line in shown:
        facts = [
            line.title,
            t(f"level.{line.level.value}") if line.level else "",
            t(f"attitude.{line.attitude.value}") if line.attitude else "",
        ]
        # Someone nobody of ours has met in 90 days stands out on a band, readable in every theme.
        body.append(plain(line.name, bold=True) if line.covered else callout(line.name, "attention", bold=True))
        if any(facts):
            body.append(plain(" · ".join(f for f in facts if f), subtle=True))
        met_by = names_text(t, line.met_by, most=MET_BY_SHOWN) or "—"
        met = (
            t("stakeholders.last_met", date=line.last_met.isoformat(), names=met_by)
            if line.last_met
            else t("stakeholders.never_met")
        )
        body.append(plain(met, subtle=True) if line.covered else callout(met, "attention"))
        if line.owner:
            body.append(plain(t("stakeholders.owner", name=shorten(line.owner, NAME_WIDTH)), subtle=True))
    if more:
        body.append(static(t("stakeholders.more", count=more), subtle=True))
    uncovered = [line.name for line in lines if not line.covered]
    if uncovered:
        body.append(callout(t("stakeholders.uncovered", days=90), "attention", bold=True, user_text=False))
        body.append(callout(names_text(t, uncovered), "attention"))
    cut = more or len(uncovered) > NAMES_SHOWN
    return card(body, to_tab(t, "stakeholders", tab_url) if cut else [], fallback_text=title)
