"""The contact form, its parsing into a LogContact, and the cards that follow a logged contact."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from microsoft_teams.cards import (
    ActionSet,
    CardElement,
    Choice,
    ChoiceSetInput,
    Container,
    DateInput,
    TextInput,
    ToggleVisibilityAction,
)

from cards.acknowledge import Attention, attention_section, card_with_attention
from cards.build import Recipient, callout, card, clean, heading, labelled, plain, static
from cards.fit import names_text, shorten
from cards.forms import (
    CHOICES_SHOWN,
    FormContext,
    FormState,
    Option,
    ServiceOption,
    action_data,
    choices,
    execute_action,
    field_error,
    form_state,
    new_card_id,
    not_listed,
    parse_ids,
    parse_service,
    parse_toggles,
    service_choice,
    toggle,
)
from cards.i18n import Texts
from kam.contacts import FIELD_MAX, PEOPLE_MAX, SUMMARY_MAX, TOPIC_MAX, LogContact
from kam.models import Contact, ContactKind, Person

VERB_SAVE = "contact.save"

TEXT_FIELDS: dict[str, int] = {
    "customer_people": PEOPLE_MAX,
    "summary": SUMMARY_MAX,
    "customer_asked": FIELD_MAX,
    "we_committed": FIELD_MAX,
    "next_steps": FIELD_MAX,
    "paid_service": TOPIC_MAX,
}
CHOICE_FIELDS = (
    "stakeholders",
    "participants",
    "kind",
    "met_on",
    "confidential",
    "framework_agreement",
    "paid_service_id",
)
TOGGLES = ("confidential", "framework_agreement")
INPUT_FIELDS = (*TEXT_FIELDS, *CHOICE_FIELDS)


def _text_input(t: Texts, state: FormState, name: str, *, multiline: bool, required: bool = False) -> list[CardElement]:
    element = TextInput(
        id=name,
        label=t(f"form.{name}"),
        value=state.values.get(name) or None,
        is_multiline=multiline or None,
        max_length=TEXT_FIELDS[name],
        is_required=required or None,
        error_message=t("field.required") if required else None,
        placeholder=t(f"form.{name}.placeholder") if name in PLACEHOLDERS else None,
    )
    return [element, *field_error(state, name)]


def _multi_choice(t: Texts, state: FormState, name: str, options: Sequence[Option]) -> list[CardElement]:
    if not options:
        return []
    offered, value, more = choices(options, state.values.get(name))
    element = ChoiceSetInput(
        id=name, label=t(f"form.{name}"), is_multi_select=True, style="compact", value=value, choices=offered
    )
    return [element, *not_listed(t, f"form.more_{name}", more), *field_error(state, name)]


PREFILLED = ("summary", "customer_people", "met_on")
PLACEHOLDERS = ("summary", "customer_people")
# The stakeholder choice's option for someone the account does not list yet: named in "customer_people".
SOMEONE_ELSE = "other"
DETAILS = "details"  # the container "More details" shows and hides
DETAIL_FIELDS = (
    "participants",
    "customer_asked",
    "we_committed",
    "next_steps",
    "paid_service_id",
    "paid_service",
    "framework_agreement",
    "confidential",
)


def carried(value: Mapping[str, Any]) -> dict[str, str]:
    """What a message action or a meeting nudge carries over to the form (summary, customer people, date, our
    attendees), within what the form takes: a longer text ends in an ellipsis, the form offers CHOICES_SHOWN people."""
    values: dict[str, str] = {}
    for name in PREFILLED:
        raw = value.get(name)
        if isinstance(raw, str) and raw.strip():
            values[name] = shorten(clean(raw), TEXT_FIELDS[name]) if name in TEXT_FIELDS else clean(raw)[:10]
    participants = value.get("participants")
    ids = parse_ids(participants) if isinstance(participants, str) else None
    if ids:
        values["participants"] = ",".join(str(i) for i in ids[:CHOICES_SHOWN])
    return values


def new_form(today: dt.date, carried_over: Mapping[str, str] | None = None) -> FormState:
    """A new form's values: a meeting today, plus what was carried over. The form still checks them all on submit.

    Customer people carried over as names are "someone else" on the stakeholder choice, so that the
    required choice is answered already.
    """
    values = {"met_on": today.isoformat(), "kind": ContactKind.MEETING.value, **(carried_over or {})}
    if values.get("customer_people") and not values.get("stakeholders"):
        values["stakeholders"] = SOMEONE_ELSE
    return FormState(values=values)


def prefill(value: Mapping[str, Any], today: dt.date) -> FormState:
    return new_form(today, carried(value))


def _who(t: Texts, state: FormState, stakeholders: Sequence[Option]) -> list[CardElement]:
    """Who at the customer, the one required choice: a known stakeholder, or someone else named below.

    Without known stakeholders the names are the required input.
    """
    if not stakeholders:
        return [
            *_text_input(t, state, "customer_people", multiline=False, required=True),
            *field_error(state, "stakeholders"),
        ]
    chosen = state.values.get("stakeholders")
    offered, value, more = choices(stakeholders, chosen)
    picked = [part for part in (chosen or "").split(",") if part]
    if SOMEONE_ELSE in picked:
        value = ",".join(part for part in (value or "").split(",") + [SOMEONE_ELSE] if part)
    element = ChoiceSetInput(
        id="stakeholders",
        label=t("form.who"),
        is_multi_select=True,
        style="compact",
        is_required=True,
        error_message=t("field.need_people"),
        value=value,
        choices=[*offered, Choice(title=t("form.someone_else"), value=SOMEONE_ELSE)],
    )
    return [
        element,
        *not_listed(t, "form.more_stakeholders", more),
        *field_error(state, "stakeholders"),
        *_text_input(t, state, "customer_people", multiline=False),
    ]


def _more_details(t: Texts, state: FormState, form: FormContext) -> list[CardElement]:
    """The rest behind "More details": shown at once when the user filled in any of it or one needs fixing."""
    inner: list[CardElement] = _multi_choice(t, state, "participants", form.team)
    for name in ("customer_asked", "we_committed", "next_steps"):
        inner += _text_input(t, state, name, multiline=True)
    inner += service_choice(t, state, "paid_service_id", t("form.paid_service_id"), form.services)
    inner += _text_input(t, state, "paid_service", multiline=False)
    inner += [toggle(state, name, t(f"form.{name}")) for name in ("framework_agreement", "confidential")]
    used = any(state.values.get(name) not in (None, "", "false") or name in state.errors for name in DETAIL_FIELDS)
    more = ToggleVisibilityAction(title=t("form.more_details"), target_elements=[DETAILS])
    return [ActionSet(actions=[more]), Container(id=DETAILS, is_visible=used or False, items=inner)]


def contact_form_card(
    t: Texts, form: FormContext, today: dt.date, state: FormState | None = None, card_id: str | None = None
) -> dict[str, Any]:
    """The essentials first (who at the customer, type, date, summary; type and date answered already), every
    required input marked, the rest behind "More details": a minimal contact is two inputs here."""
    state = state or new_form(today)
    card_id = card_id or new_card_id()
    body: list[CardElement] = [heading(t("form.title", account=form.account_name))]
    if state.errors:
        body.append(callout(t("form.fix_errors"), "attention", bold=True, user_text=False))
    body += _who(t, state, form.stakeholders)
    body += [
        ChoiceSetInput(
            id="kind",
            label=t("form.kind"),
            style="compact",
            is_required=True,
            error_message=t("field.required"),
            value=state.values.get("kind") or None,
            choices=[Choice(title=t(f"kind.{k.value}"), value=k.value) for k in ContactKind],
        ),
        *field_error(state, "kind"),
        DateInput(
            id="met_on",
            label=t("form.met_on"),
            value=state.values.get("met_on") or None,
            max=(today + dt.timedelta(days=1)).isoformat(),
            is_required=True,
            error_message=t("field.bad_date"),
        ),
        *field_error(state, "met_on"),
    ]
    body += _text_input(t, state, "summary", multiline=True, required=True)
    body += _more_details(t, state, form)
    data = action_data(VERB_SAVE, card_id, today, account_id=form.account_id)
    return card(
        body, [execute_action(t("form.submit"), data)], fallback_text=t("form.title", account=form.account_name)
    )


def parse_contact_submission(
    t: Texts,
    value: Mapping[str, Any],
    *,
    author: Person | None,
    account_id: int,
    card_id: str,
    today: dt.date,
    services: Sequence[ServiceOption] = (),
) -> LogContact | FormState:
    """A LogContact when every field is valid, else the form state with one message per bad field. `services`:
    the catalogue the form offered (a service picked must be one of them)."""
    state = form_state(value, INPUT_FIELDS)
    values, errors = state.values, state.errors
    paid_service_id = parse_service(t, state, "paid_service_id", services)

    for name, limit in TEXT_FIELDS.items():
        length = len(values.get(name, ""))
        if length > limit:
            errors[name] = t("field.too_long", max=limit, length=length)
    if not values.get("summary"):
        errors["summary"] = t("field.required")

    chosen = values.get("stakeholders", "").split(",")
    stakeholder_ids = parse_ids(",".join(part for part in chosen if part != SOMEONE_ELSE))
    participant_ids = parse_ids(values.get("participants", ""))
    if stakeholder_ids is None:
        errors["stakeholders"] = t("field.bad_choice")
    if participant_ids is None:
        errors["participants"] = t("field.bad_choice")
    if (
        not values.get("customer_people")
        and not stakeholder_ids
        and not {"customer_people", "stakeholders"} & set(errors)
    ):
        # Under the input that is to say who: the names, when "Someone else" was chosen or no stakeholder offered.
        below = SOMEONE_ELSE in chosen or "stakeholders" not in value
        errors["customer_people" if below else "stakeholders"] = t("field.need_people")

    met_on: dt.date | None = None
    try:
        met_on = dt.date.fromisoformat(values.get("met_on", ""))
    except ValueError:
        errors["met_on"] = t("field.bad_date")
    if met_on is not None and met_on > today + dt.timedelta(days=1):
        errors["met_on"] = t("field.future_date")

    kind_value = values.get("kind", "")
    if kind_value not in {k.value for k in ContactKind}:
        errors["kind"] = t("field.required") if not kind_value else t("field.bad_choice")

    toggles = parse_toggles(state, TOGGLES)
    if errors or met_on is None:
        return state
    return LogContact(
        account_id=account_id,
        author=author,
        idempotency_key=card_id,
        met_on=met_on,
        kind=ContactKind(kind_value),
        summary=values["summary"],
        customer_people=values.get("customer_people", ""),
        stakeholder_ids=stakeholder_ids or (),
        participant_ids=participant_ids or (),
        customer_asked=values.get("customer_asked", ""),
        we_committed=values.get("we_committed", ""),
        next_steps=values.get("next_steps", ""),
        confidential=toggles["confidential"],
        paid_service=values.get("paid_service", ""),
        paid_service_id=paid_service_id,
        framework_agreement=toggles["framework_agreement"],
    )


@dataclass(frozen=True)
class ContactView:
    """A stored contact, flattened for display."""

    account_name: str
    kind: ContactKind
    met_on: dt.date
    logged_by: str
    stakeholders: list[str]  # the account's stakeholders met
    customer_people: str  # others met, as typed
    participants: list[str]
    summary: str
    customer_asked: str
    we_committed: str
    next_steps: str
    confidential: bool


def _details(t: Texts, contact: ContactView) -> list[CardElement]:
    """Who took part: as many names as a card holds (the Log tab names all the customer's people met)."""
    met = ", ".join(part for part in (names_text(t, contact.stakeholders), contact.customer_people) if part)
    body: list[CardElement] = []
    body += labelled(t("summary.met"), met)
    body += labelled(t("summary.ours"), names_text(t, contact.participants))
    body += labelled(t("summary.summary"), contact.summary)
    body += labelled(t("summary.customer_asked"), contact.customer_asked)
    body += labelled(t("summary.we_committed"), contact.we_committed)
    body += labelled(t("summary.next_steps"), contact.next_steps)
    return body


def _headline(t: Texts, contact: ContactView) -> str:
    return t(
        "summary.line", kind=t(f"kind.{contact.kind.value}"), date=contact.met_on.isoformat(), name=contact.logged_by
    )


def _details_or_notice(t: Texts, contact: ContactView, hide_details: bool) -> list[CardElement]:
    if contact.confidential and hide_details:
        return [callout(t("summary.confidential"), "warning", user_text=False)]
    return _details(t, contact)


def logged_card(
    t: Texts, contact: ContactView, *, shown_to_channel: bool, attention: Attention | None = None
) -> dict[str, Any]:
    """Replaces the form, read-only. `shown_to_channel`: the confidential details stay out (the access
    policy decided that the reader may not see them, or that others read along).

    With `attention`, the author sees what the checks found and who has been asked to acknowledge.
    """
    body: list[CardElement] = [
        heading(t("logged.title", account=contact.account_name)),
        plain(_headline(t, contact), subtle=True),
        *_details_or_notice(t, contact, shown_to_channel),
        static(t("logged.told"), subtle=True),
    ]
    if attention is not None:
        body += attention_section(t, attention, anyone=False)[0]
    return card(body, fallback_text=t("logged.title", account=contact.account_name))


def channel_summary_card(
    t: Texts,
    contact: ContactView,
    must_know: Sequence[Recipient],
    attention: Attention | None = None,
    *,
    shown_to_channel: bool = True,
    hide_details: bool = True,
) -> dict[str, Any]:
    """The post in a shared place, mentioning who must know; with `shown_to_channel=False` the 1:1 card.

    `hide_details`: a confidential contact's details stay out (the access policy's decision for this reader).
    """
    body: list[CardElement] = [
        heading(t("summary.title", account=contact.account_name)),
        plain(_headline(t, contact), subtle=True),
        *_details_or_notice(t, contact, hide_details),
    ]
    title = t("summary.title", account=contact.account_name)
    return card_with_attention(t, body, attention, anyone=shown_to_channel, fallback_text=title, must_know=must_know)


def contact_view(contact: Contact) -> ContactView:
    return ContactView(
        account_name=contact.account.name,
        kind=contact.kind,
        met_on=contact.met_on,
        logged_by=contact.logged_by.name,
        stakeholders=[s.name for s in contact.stakeholders],
        customer_people=contact.customer_people,
        participants=[p.name for p in contact.participants],
        summary=contact.summary,
        customer_asked=contact.customer_asked,
        we_committed=contact.we_committed,
        next_steps=contact.next_steps,
        confidential=contact.confidential,
    )
