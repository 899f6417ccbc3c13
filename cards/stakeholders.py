"""Stakeholder cards: adding a customer person, and the relationship map of an account."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from microsoft_teams.cards import CardElement, Choice, ChoiceSetInput, TextInput

from cards.build import callout, card, heading, plain, static
from cards.errors import MalformedSubmission
from cards.fit import NAME_WIDTH, NAMES_SHOWN, first, names_text, shorten, to_tab
from cards.forms import (
    FormContext,
    FormState,
    Option,
    action_data,
    choices,
    execute_action,
    field_error,
    form_state,
    new_card_id,
    parse_ids,
    parse_toggles,
    people_choice,
    toggle,
)
from cards.i18n import Texts
from kam.account_list import EMAIL
from kam.models import Attitude, BuyingRole, DecisionPower, Stakeholder, StakeholderLevel
from kam.stakeholders import NAME_MAX, STRENGTHS, AddStakeholder

VERB_ADD_STAKEHOLDER = "stakeholder.save"
VERB_EDIT_STAKEHOLDER = "stakeholder.edit"
VERB_SET_STRENGTH = "strength.save"
TEXT_FIELDS = {"name": NAME_MAX, "title": 200, "function": 100, "email": 320}
CHOICES: dict[str, type[StrEnum]] = {
    "level": StakeholderLevel,
    "buying_role": BuyingRole,
    "attitude": Attitude,
    "decision_power": DecisionPower,
}
FIELDS = (*TEXT_FIELDS, *CHOICES, "owner", "reports_to", "influences", "inner_circle")
# An account has as many stakeholders as are added: the map lists the first MAP_SHOWN (by name) with the three
# of ours who met each most recently, and names the uncovered; the Stakeholders tab has everyone.
MAP_SHOWN = 15
MET_BY_SHOWN = 3
# The strength card's choices: "computed" clears a hand-set strength (kam.stakeholders.STRENGTHS has the others).
COMPUTED = "computed"


def stakeholder_form_card(
    t: Texts,
    form: FormContext,
    today: dt.date,
    state: FormState | None = None,
    card_id: str | None = None,
    *,
    editing: int | None = None,
) -> dict[str, Any]:
    """The form that adds a customer person, or (`editing`: their id) changes one, prefilled by the caller."""
    state = state or FormState()
    title = t("stakeholder.edit.title" if editing else "stakeholder.form.title", account=form.account_name)
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
                style="Email" if name == "email" else None,
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
    body += [toggle(state, "inner_circle", t("stakeholder.form.inner_circle")), *field_error(state, "inner_circle")]
    colleagues = [o for o in form.stakeholders if o.id != editing]
    for name in ("reports_to", "influences"):  # other customer people of the account: whom this one reports to, sways
        label = t(f"stakeholder.form.{name}")
        body += people_choice(
            t, state, name, label, colleagues, multi=name == "influences", more_key="form.more_colleagues"
        )
    body += people_choice(t, state, "owner", t("stakeholder.form.owner"), form.team)
    ids = {"account_id": form.account_id} | ({"stakeholder_id": editing} if editing else {})
    verb = VERB_EDIT_STAKEHOLDER if editing else VERB_ADD_STAKEHOLDER
    submit = t("stakeholder.edit.submit" if editing else "stakeholder.form.submit")
    data = action_data(verb, card_id or new_card_id(), today, **ids)
    return card(body, [execute_action(submit, data)], fallback_text=title)


def stakeholder_values(stakeholder: Stakeholder, influences: Sequence[int]) -> FormState:
    """The edit form's inputs as the stored person has them."""
    chosen = {name: getattr(stakeholder, name) for name in CHOICES}
    values = {
        "name": stakeholder.name,
        "title": stakeholder.title or "",
        "function": stakeholder.function or "",
        "email": stakeholder.email or "",
        **{name: member.value if member else "" for name, member in chosen.items()},
        "owner": str(stakeholder.owner_id or ""),
        "reports_to": str(stakeholder.reports_to_id or ""),
        "influences": ",".join(str(i) for i in influences),
        "inner_circle": "true" if stakeholder.inner_circle else "false",
    }
    return FormState(values=values)


def parse_stakeholder(
    t: Texts, value: Mapping[str, Any], *, author: Any, account_id: int, stakeholder_id: int | None = None
) -> AddStakeholder | FormState:
    state = form_state(value, FIELDS)
    values, errors = state.values, state.errors
    values["name"] = re.sub(r"\s+", " ", values.get("name", ""))
    for name, limit in TEXT_FIELDS.items():
        if len(values.get(name, "")) > limit:
            errors[name] = t("field.too_long", max=limit, length=len(values[name]))
    if not values["name"]:
        errors["name"] = t("field.required")
    email = values.get("email", "").strip()
    if email and "email" not in errors and not EMAIL.match(email):
        errors["email"] = t("field.bad_email")
    chosen: dict[str, Any] = {}
    for name, kind in CHOICES.items():
        raw = values.get(name, "")
        if raw and raw not in {member.value for member in kind}:
            errors[name] = t("field.bad_choice")
        chosen[name] = kind(raw) if raw and name not in errors else None
    single = {name: parse_ids(values.get(name, "")) for name in ("owner", "reports_to")}
    for name, ids in single.items():
        if ids is None or len(ids) > 1:
            errors[name] = t("field.bad_choice")
    influences = parse_ids(values.get("influences", ""))
    if influences is None:
        errors["influences"] = t("field.bad_choice")
    inner_circle = parse_toggles(state, ["inner_circle"])["inner_circle"]
    if errors:
        return state
    return AddStakeholder(
        account_id=account_id,
        author=author,
        name=values["name"],
        title=values.get("title", ""),
        function=values.get("function", ""),
        owner_id=(single["owner"] or (None,))[0],
        email=email,
        reports_to_id=(single["reports_to"] or (None,))[0],
        influences=influences or (),
        inner_circle=inner_circle,
        stakeholder_id=stakeholder_id,
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


def stakeholder_added_card(t: Texts, account_name: str, name: str, *, edited: bool = False) -> dict[str, Any]:
    title = t("stakeholder.saved.title" if edited else "stakeholder.added.title", account=account_name)
    body: list[CardElement] = [heading(title), plain(name, bold=True)]
    body.append(static(t("stakeholder.saved.next" if edited else "stakeholder.added.next"), subtle=True))
    return card(body, fallback_text=title)


@dataclass(frozen=True)
class StrengthForm:
    """The card where one of ours says how strong a relationship is: for themselves, or (a KA manager) anyone's."""

    account_id: int
    account_name: str
    stakeholder_id: int
    stakeholder_name: str
    people: Sequence[Option]  # whose tie the caller may set: themselves, or the team
    person_id: int  # chosen first: the caller
    strength: int | None  # the caller's hand-set strength, if any


def strength_label(strength: int | None) -> str:
    """The choice a stored strength is (kam.stakeholders.STRENGTHS), "computed" when none is set by hand."""
    return next((label for label, value in STRENGTHS.items() if value == strength), COMPUTED)


def strength_card(t: Texts, form: StrengthForm, today: dt.date, card_id: str | None = None) -> dict[str, Any]:
    title = t("strength.title", name=form.stakeholder_name, account=form.account_name)
    offered, value, _ = choices(form.people, str(form.person_id))
    levels = [COMPUTED, *STRENGTHS]
    body: list[CardElement] = [
        heading(title),
        static(t("strength.intro"), subtle=True),
        ChoiceSetInput(
            id="person",
            label=t("strength.person"),
            style="compact",
            is_required=True,
            value=value,
            error_message=t("field.required"),
            choices=offered,
        ),
        ChoiceSetInput(
            id="strength",
            label=t("strength.level"),
            style="expanded",
            is_required=True,
            error_message=t("field.required"),
            value=strength_label(form.strength),
            choices=[Choice(title=t(f"strength.{level}"), value=level) for level in levels],
        ),
    ]
    data = action_data(
        VERB_SET_STRENGTH,
        card_id or new_card_id(),
        today,
        account_id=form.account_id,
        stakeholder_id=form.stakeholder_id,
    )
    return card(body, [execute_action(t("strength.submit"), data)], fallback_text=title)


def parse_strength(value: Mapping[str, Any]) -> int | None:
    """The strength chosen (None: as computed); MalformedSubmission for anything the card does not offer."""
    raw = value.get("strength")
    if raw == COMPUTED:
        return None
    if not isinstance(raw, str) or raw not in STRENGTHS:
        raise MalformedSubmission()
    return STRENGTHS[raw]


def strength_saved_card(t: Texts, stakeholder_name: str, person_name: str, strength: int | None) -> dict[str, Any]:
    title = t("strength.saved", name=stakeholder_name)
    line = t("strength.saved.line", person=person_name, level=t(f"strength.{strength_label(strength)}"))
    return card([heading(title), plain(line)], fallback_text=title)


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
