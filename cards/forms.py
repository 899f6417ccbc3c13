"""The form kit: what every kambot card with inputs or actions is made of.

Action data with the card's id, version and date (`action_data`, read back once by the
router with `read_meta`), the account picker that comes before a form, inputs with the
message under each field that needs fixing (`FormState`), and the parsing of what a card
input can send (`form_state`, dates, toggles, ids). A card module builds its form from
these and parses its submission into its typed command, or into the form again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from microsoft_teams.cards import (
    CardElement,
    Choice,
    ChoiceSetInput,
    ExecuteAction,
    SubmitAction,
    ToggleInput,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cards.build import callout, card, clean, heading, static
from cards.errors import MalformedSubmission, StaleCard
from cards.fit import shorten
from cards.i18n import Texts
from kam.text import plain_number

FORM_VERSION = 1
# The account picker comes before these forms; its verb says which form follows.
VERB_PICK = "contact.pick"
VERB_PICK_FOR_DECISION = "decision.pick"
VERB_PICK_FOR_STAKEHOLDER = "stakeholder.pick"
PICK_VERBS = {"contact": VERB_PICK, "decision": VERB_PICK_FOR_DECISION, "stakeholder": VERB_PICK_FOR_STAKEHOLDER}
PICK_TITLES = {"contact": "pick.title", "decision": "decision.pick.title", "stakeholder": "stakeholder.pick.title"}
# A choice offers at most CHOICES_SHOWN options (accounts, stakeholders, team members), what is chosen first, each
# labelled in at most CHOICE_WIDTH characters: a card holds about 80 KB (cards/fit.py).
CHOICES_SHOWN = 40
CHOICE_WIDTH = 50
# The service catalogue's choice (searchable in Teams: "filtered") offers at most this many; a bigger catalogue's
# other services are typed in the text field beside it, which the checks read in every language too.
SERVICES_SHOWN = 50


class CardMeta(BaseModel):
    """What our own card puts into the action data; anything else is not from our card."""

    model_config = ConfigDict(extra="allow", strict=False)

    verb: str = Field(max_length=40)
    v: int
    card_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    issued: dt.date


@dataclass(frozen=True)
class Option:
    id: int
    label: str


@dataclass(frozen=True)
class ServiceOption:
    """A service of the company's catalogue, as a form offers it: its id and its name in the user's language
    (each form builds these from kam.catalogue for the person it is for)."""

    id: str
    name: str


@dataclass(frozen=True)
class FormContext:
    """What the form offers for one account."""

    account_id: int
    account_name: str
    stakeholders: Sequence[Option]
    team: Sequence[Option]
    services: Sequence[ServiceOption] = ()  # the catalogue, named in the reader's language


@dataclass
class FormState:
    """The user's raw input (kept on errors) and the message per field that needs fixing."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def choices(options: Sequence[Option], chosen: str | None = None) -> tuple[list[Choice], str | None, int]:
    """An input's choices (those in `chosen`, its comma-separated value, are always among them); its value, of
    those offered; and how many options were left out."""
    picked = [part for part in (chosen or "").split(",") if part]
    kept = {o.id for o in sorted(options, key=lambda o: str(o.id) not in picked)[:CHOICES_SHOWN]}
    offered = [Choice(title=clean(shorten(o.label, CHOICE_WIDTH)), value=str(o.id)) for o in options if o.id in kept]
    value = ",".join(p for p in picked if plain_number(p) in kept) or None
    return offered, value, max(len(options) - CHOICES_SHOWN, 0)


def action_data(verb: str, card_id: str, issued: dt.date, **extra: Any) -> dict[str, Any]:
    return {"verb": verb, "v": FORM_VERSION, "card_id": card_id, "issued": issued.isoformat(), **extra}


def execute_action(title: str, data: dict[str, Any]) -> ExecuteAction:
    """Universal Action, with Action.Submit for clients that predate it."""
    return ExecuteAction(
        title=title, verb=data["verb"], data=data, style="positive", fallback=SubmitAction(title=title, data=data)
    )


def new_card_id() -> str:
    return uuid.uuid4().hex


def read_meta(value: object, *, today: dt.date, max_age_days: int | None) -> CardMeta:
    """The card's own data; MalformedSubmission if it is not ours, StaleCard if it is of an older version
    or (with `max_age_days`, for forms) too old."""
    if not isinstance(value, Mapping):
        raise MalformedSubmission()
    try:
        meta = CardMeta.model_validate(dict(value))
    except ValidationError:
        raise MalformedSubmission() from None
    too_old = max_age_days is not None and (today - meta.issued).days > max_age_days
    if meta.v != FORM_VERSION or too_old or meta.issued > today + dt.timedelta(days=1):
        raise StaleCard()
    return meta


def account_picker_card(
    t: Texts,
    accounts: Sequence[Option],
    today: dt.date,
    error: str | None = None,
    *,
    purpose: str = "contact",
    carry: Mapping[str, str] | None = None,
    card_id: str | None = None,
) -> dict[str, Any]:
    """Which account, before a form (contact, decision, stakeholder); the form then replaces it, same card id."""
    card_id = card_id or new_card_id()
    title = t(PICK_TITLES[purpose])
    offered, _, more = choices(accounts)
    body: list[Any] = [heading(title)]
    body.append(
        ChoiceSetInput(
            id="account_id",
            label=t("pick.prompt"),
            is_required=True,
            error_message=t("pick.required"),
            style="expanded",
            choices=offered,
        )
    )
    if more:
        body.append(static(t("pick.more", count=more), subtle=True))
    if error:
        body.append(callout(error, "attention", user_text=False))
    action = execute_action(t("pick.continue"), action_data(PICK_VERBS[purpose], card_id, today, **(carry or {})))
    return card(body, [action], fallback_text=title)


def field_error(state: FormState, name: str) -> list[CardElement]:
    """The message under an input that needs fixing, if any."""
    message = state.errors.get(name)
    return [callout(message, "attention", user_text=False)] if message else []


def for_dialog(card_json: dict[str, Any]) -> dict[str, Any]:
    """Dialogs (task modules) answer Action.Submit, not Universal Actions: use each action's Submit fallback."""
    actions = [a.get("fallback", a) if a.get("type") == "Action.Execute" else a for a in card_json.get("actions", [])]
    return {**card_json, "actions": actions} if actions else card_json


def people_choice(
    t: Texts,
    state: FormState,
    name: str,
    label: str,
    people: Sequence[Option],
    *,
    multi: bool = False,
    more_key: str = "form.more_team",
) -> list[CardElement]:
    """A choice of one person of the account team (who tells the customer, who owns a relationship), or of other
    people (the customer's: `more_key` then says who is not listed); `multi` for several."""
    if not people:
        return []
    offered, value, more = choices(people, state.values.get(name))
    element = ChoiceSetInput(
        id=name, label=label, style="compact", is_multi_select=multi or None, value=value, choices=offered
    )
    return [element, *not_listed(t, more_key, more), *field_error(state, name)]


def service_choice(
    t: Texts, state: FormState, name: str, label: str, services: Sequence[ServiceOption]
) -> list[CardElement]:
    """One service of the catalogue, searchable; nothing without a catalogue."""
    if not services:
        return []
    chosen = state.values.get(name) or None
    shown = list(services[:SERVICES_SHOWN])
    if chosen and all(s.id != chosen for s in shown):
        shown += [s for s in services if s.id == chosen]
    element = ChoiceSetInput(
        id=name,
        label=label,
        style="filtered",
        value=chosen if any(s.id == chosen for s in shown) else None,
        choices=[Choice(title=shorten(s.name, CHOICE_WIDTH), value=s.id) for s in shown],
    )
    more = len(services) - len(services[:SERVICES_SHOWN])
    return [element, *not_listed(t, "form.more_services", more), *field_error(state, name)]


def parse_service(t: Texts, state: FormState, name: str, services: Sequence[ServiceOption]) -> str | None:
    """The service picked, checked against the catalogue (a card's value is a claim); a message if unknown."""
    raw = state.values.get(name, "")
    if not raw:
        return None
    if raw not in {s.id for s in services}:
        state.errors[name] = t("field.bad_choice")
        return None
    return raw


def not_listed(t: Texts, key: str, count: int) -> list[CardElement]:
    """The note under a choice that cannot offer every option."""
    return [static(t(key, count=count), subtle=True)] if count else []


def parse_date(t: Texts, state: FormState, name: str, *, required: bool) -> dt.date | None:
    """A date input's value; a message on the field when it is missing (if required) or not a date."""
    raw = state.values.get(name, "")
    if not raw:
        if required:
            state.errors[name] = t("field.required")
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        state.errors[name] = t("field.bad_date")
        return None


def toggle(state: FormState, name: str, title: str) -> ToggleInput:
    """A checkbox whose title wraps: unwrapped, Teams cuts a long one off at the card's edge."""
    return ToggleInput(
        id=name,
        title=title,
        wrap=True,
        value="true" if state.values.get(name) == "true" else "false",
        value_on="true",
        value_off="false",
    )


def parse_toggles(state: FormState, names: Sequence[str]) -> dict[str, bool]:
    """Toggles send "true" or "false"; anything else did not come from our card."""
    if any(state.values.get(name, "false") not in ("true", "false") for name in names):
        raise MalformedSubmission()
    return {name: state.values.get(name) == "true" for name in names}


def parse_ids(raw: str) -> tuple[int, ...] | None:
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    numbers = [plain_number(p) for p in parts]
    if not all(n is not None for n in numbers):
        return None
    return tuple(dict.fromkeys(n for n in numbers if n is not None))


def form_state(value: Mapping[str, Any], fields: Sequence[str]) -> FormState:
    """The inputs as the user left them; MalformedSubmission for anything a card input cannot send."""
    values: dict[str, str] = {}
    for name in fields:
        raw = value.get(name)
        if raw is None:
            continue
        if isinstance(raw, bool):
            raw = "true" if raw else "false"
        if not isinstance(raw, str):
            raise MalformedSubmission()
        values[name] = clean(raw)
    return FormState(values=values)
