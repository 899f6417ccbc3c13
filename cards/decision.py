"""The decision form, its parsing into a LogDecision, and the cards that follow a logged decision."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from microsoft_teams.cards import CardElement, Choice, ChoiceSetInput, DateInput, TextInput

from cards.acknowledge import Attention, attention_section, card_with_attention
from cards.build import Recipient, callout, card, heading, labelled, plain, static
from cards.forms import (
    FormContext,
    FormState,
    ServiceOption,
    action_data,
    execute_action,
    field_error,
    form_state,
    new_card_id,
    parse_date,
    parse_ids,
    parse_service,
    parse_toggles,
    people_choice,
    service_choice,
    toggle,
)
from cards.i18n import Texts
from kam.decisions import NAME_MAX, SCOPE_MAX, TEXT_MAX, TITLE_MAX, LogDecision
from kam.models import Decision, DecisionCategory, Person

VERB_SAVE_DECISION = "decision.save"
TEXT_FIELDS: dict[str, int] = {
    "title": TITLE_MAX,
    "decision": TEXT_MAX,
    "rationale": TEXT_MAX,
    "decided_by": NAME_MAX,
    "scope": SCOPE_MAX,
}
TOGGLES = ("concession", "framework_agreement")
FIELDS = (*TEXT_FIELDS, "category", "effective_on", "communicator", "communicate_by", *TOGGLES, "concession_service")


def _text(
    t: Texts, state: FormState, name: str, *, multiline: bool = False, required: bool = False
) -> list[CardElement]:
    element = TextInput(
        id=name,
        label=t("decision.form.title_field" if name == "title" else f"decision.form.{name}"),
        value=state.values.get(name) or None,
        is_multiline=multiline or None,
        max_length=TEXT_FIELDS[name],
        is_required=required or None,
        error_message=t("field.required") if required else None,
    )
    return [element, *field_error(state, name)]


def decision_form_card(
    t: Texts, form: FormContext, today: dt.date, state: FormState | None = None, card_id: str | None = None
) -> dict[str, Any]:
    state = state or FormState(values={"effective_on": today.isoformat()})
    body: list[CardElement] = [heading(t("decision.form.title", account=form.account_name))]
    if state.errors:
        body.append(callout(t("form.fix_errors"), "attention", bold=True, user_text=False))
    body += _text(t, state, "title", required=True)
    body += [
        ChoiceSetInput(
            id="category",
            label=t("decision.form.category"),
            style="compact",
            is_required=True,
            error_message=t("field.required"),
            value=state.values.get("category") or None,
            choices=[Choice(title=t(f"category.{c.value}"), value=c.value) for c in DecisionCategory],
        ),
        *field_error(state, "category"),
    ]
    body += _text(t, state, "decision", multiline=True, required=True)
    body += _text(t, state, "rationale", multiline=True)
    body += _text(t, state, "decided_by", required=True)
    body += [
        DateInput(
            id="effective_on",
            label=t("decision.form.effective_on"),
            value=state.values.get("effective_on") or None,
            is_required=True,
            error_message=t("field.bad_date"),
        ),
        *field_error(state, "effective_on"),
    ]
    body += _text(t, state, "scope")
    body += people_choice(t, state, "communicator", t("decision.form.communicator"), form.team)
    body += [
        DateInput(
            id="communicate_by",
            label=t("decision.form.communicate_by"),
            value=state.values.get("communicate_by") or None,
        ),
        *field_error(state, "communicate_by"),
    ]
    body += [toggle(state, name, t(f"decision.form.{name}")) for name in TOGGLES]
    body += service_choice(t, state, "concession_service", t("decision.form.concession_service"), form.services)
    data = action_data(VERB_SAVE_DECISION, card_id or new_card_id(), today, account_id=form.account_id)
    title = t("decision.form.title", account=form.account_name)
    return card(body, [execute_action(t("decision.form.submit"), data)], fallback_text=title)


def parse_decision_submission(
    t: Texts,
    value: Mapping[str, Any],
    *,
    author: Person | None,
    account_id: int,
    card_id: str,
    services: Sequence[ServiceOption] = (),
) -> LogDecision | FormState:
    """A LogDecision when every field is valid, else the form state with one message per bad field. `services`:
    the catalogue the form offered (the service given away must be one of them)."""
    state = form_state(value, FIELDS)
    values, errors = state.values, state.errors
    concession_service = parse_service(t, state, "concession_service", services)
    for name, limit in TEXT_FIELDS.items():
        length = len(values.get(name, ""))
        if length > limit:
            errors[name] = t("field.too_long", max=limit, length=length)
    for name in ("title", "decision", "decided_by"):
        if not values.get(name) and name not in errors:
            errors[name] = t("field.required")
    category = values.get("category", "")
    if category not in {c.value for c in DecisionCategory}:
        errors["category"] = t("field.required") if not category else t("field.bad_choice")
    effective_on = parse_date(t, state, "effective_on", required=True)
    communicate_by = parse_date(t, state, "communicate_by", required=False)
    toggles = parse_toggles(state, TOGGLES)
    communicator = parse_ids(values.get("communicator", ""))
    if communicator is None or len(communicator) > 1:
        errors["communicator"] = t("field.bad_choice")
    if errors or effective_on is None:
        return state
    return LogDecision(
        account_id=account_id,
        author=author,
        idempotency_key=card_id,
        title=values["title"],
        category=DecisionCategory(category),
        decision=values["decision"],
        decided_by=values["decided_by"],
        effective_on=effective_on,
        rationale=values.get("rationale", ""),
        scope=values.get("scope", ""),
        communicator_id=communicator[0] if communicator else None,
        communicate_by=communicate_by,
        concession=toggles["concession"],
        concession_service=concession_service,
        framework_agreement=toggles["framework_agreement"],
    )


@dataclass(frozen=True)
class DecisionView:
    account_name: str
    title: str
    category: DecisionCategory
    decision: str
    rationale: str
    decided_by: str
    effective_on: dt.date
    scope: str
    communicator: str
    communicate_by: dt.date | None
    logged_by: str
    needs_confirmation: bool = False


def decision_view(decision: Decision) -> DecisionView:
    return DecisionView(
        account_name=decision.account.name,
        title=decision.title,
        category=decision.category,
        decision=decision.decision,
        rationale=decision.rationale,
        decided_by=decision.decided_by,
        effective_on=decision.effective_on,
        scope=decision.scope,
        communicator=decision.communicator.name if decision.communicator else "",
        communicate_by=decision.communicate_by,
        logged_by=decision.logged_by.name,
        needs_confirmation=decision.needs_confirmation,
    )


def _details(t: Texts, view: DecisionView) -> list[CardElement]:
    body: list[CardElement] = [
        plain(view.title, bold=True),
        plain(
            t(
                "decision.line",
                category=t(f"category.{view.category.value}"),
                date=view.effective_on.isoformat(),
                name=view.decided_by,
            ),
            subtle=True,
        ),
    ]
    body += labelled(t("decision.form.decision"), view.decision)
    body += labelled(t("decision.form.rationale"), view.rationale)
    body += labelled(t("decision.form.scope"), view.scope)
    if view.communicator:
        who = (
            t("decision.communicates.value", name=view.communicator, date=view.communicate_by.isoformat())
            if view.communicate_by
            else t("decision.communicates.undated", name=view.communicator)
        )
        body += labelled(t("decision.communicates"), who)
    return body


def decision_logged_card(t: Texts, view: DecisionView, attention: Attention | None = None) -> dict[str, Any]:
    """Replaces the form; with `attention`, the author sees what the checks found and who was asked."""
    body = [heading(t("decision.logged.title", account=view.account_name)), *_details(t, view)]
    if view.needs_confirmation:
        body.append(callout(t("decision.needs_confirmation"), "warning", bold=True, user_text=False))
    body.append(static(t("logged.told"), subtle=True))
    if attention is not None:
        body += attention_section(t, attention, anyone=False)[0]
    return card(body, fallback_text=t("decision.logged.title", account=view.account_name))


def channel_decision_card(
    t: Texts,
    view: DecisionView,
    must_know: Sequence[Recipient],
    attention: Attention | None = None,
    *,
    shown_to_channel: bool = True,
) -> dict[str, Any]:
    """The channel post (mentioning who must know), or with `shown_to_channel=False` the 1:1 card."""
    body: list[CardElement] = [heading(t("decision.summary.title", account=view.account_name)), *_details(t, view)]
    body.append(plain(t("decision.summary.logged_by", name=view.logged_by), subtle=True))
    if view.needs_confirmation:
        body.append(callout(t("decision.needs_confirmation"), "warning", bold=True, user_text=False))
    title = t("decision.summary.title", account=view.account_name)
    return card_with_attention(t, body, attention, anyone=shown_to_channel, fallback_text=title, must_know=must_know)
