"""The price action form (a country's offer to all its customers) and the global price risk it flags."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from microsoft_teams.cards import CardElement, DateInput, TextInput

from cards.acknowledge import Attention, card_with_attention
from cards.build import callout, card, heading, labelled, plain, static
from cards.fit import names_text
from cards.forms import FormState, action_data, execute_action, field_error, form_state, new_card_id, parse_date
from cards.i18n import Texts
from kam.account_list import bad_countries, split_list
from kam.models import Person, PriceAction
from kam.price_actions import TEXT_MAX, TITLE_MAX, LogPriceAction

VERB_SAVE_PRICE_ACTION = "price_action.save"
FIELDS = ("title", "countries", "description", "starts_on", "ends_on")
COUNTRIES_MAX = 200


def price_action_form_card(
    t: Texts, today: dt.date, state: FormState | None = None, card_id: str | None = None
) -> dict[str, Any]:
    state = state or FormState(values={"starts_on": today.isoformat()})
    body: list[CardElement] = [heading(t("price.form.heading")), static(t("price.form.intro"), subtle=True)]
    if state.errors:
        body.append(callout(t("form.fix_errors"), "attention", bold=True, user_text=False))
    inputs: list[tuple[str, int, bool, bool]] = [
        ("title", TITLE_MAX, True, False),
        ("countries", COUNTRIES_MAX, True, False),
        ("description", TEXT_MAX, False, True),
    ]
    for name, limit, required, multiline in inputs:
        body += [
            TextInput(
                id=name,
                label=t(f"price.form.{name}"),
                value=state.values.get(name) or None,
                max_length=limit,
                is_multiline=multiline or None,
                is_required=required or None,
                error_message=t("field.required") if required else None,
            ),
            *field_error(state, name),
        ]
    for name in ("starts_on", "ends_on"):
        body += [
            DateInput(
                id=name,
                label=t(f"price.form.{name}"),
                value=state.values.get(name) or None,
                is_required=name == "starts_on" or None,
                error_message=t("field.bad_date"),
            ),
            *field_error(state, name),
        ]
    data = action_data(VERB_SAVE_PRICE_ACTION, card_id or new_card_id(), today)
    return card(body, [execute_action(t("price.form.submit"), data)], fallback_text=t("price.form.heading"))


def parse_price_action(
    t: Texts, value: Mapping[str, Any], *, author: Person | None, card_id: str
) -> LogPriceAction | FormState:
    state = form_state(value, FIELDS)
    values, errors = state.values, state.errors
    for name, limit in (("title", TITLE_MAX), ("countries", COUNTRIES_MAX), ("description", TEXT_MAX)):
        if len(values.get(name, "")) > limit:
            errors[name] = t("field.too_long", max=limit, length=len(values[name]))
    if not values.get("title") and "title" not in errors:
        errors["title"] = t("field.required")
    countries = [c.upper() for c in split_list(values.get("countries", ""))]
    if not countries and "countries" not in errors:
        errors["countries"] = t("field.required")
    elif bad_countries(countries):
        errors["countries"] = t("account.new.bad_countries", values=", ".join(bad_countries(countries)))
    starts_on = parse_date(t, state, "starts_on", required=True)
    ends_on = parse_date(t, state, "ends_on", required=False)
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"] = t("price.form.ends_before")
    if errors or starts_on is None:
        return state
    return LogPriceAction(
        author=author,
        idempotency_key=card_id,
        title=values["title"],
        countries=tuple(dict.fromkeys(countries)),
        starts_on=starts_on,
        ends_on=ends_on,
        description=values.get("description", ""),
    )


@dataclass(frozen=True)
class PriceActionView:
    title: str
    countries: Sequence[str]
    description: str
    starts_on: dt.date
    ends_on: dt.date | None
    logged_by: str


def price_action_view(action: PriceAction) -> PriceActionView:
    return PriceActionView(
        action.title, action.countries, action.description, action.starts_on, action.ends_on, action.logged_by.name
    )


def _details(t: Texts, view: PriceActionView) -> list[CardElement]:
    countries, start = ", ".join(view.countries), view.starts_on.isoformat()
    line = (
        t("price.line", countries=countries, start=start, end=view.ends_on.isoformat(), name=view.logged_by)
        if view.ends_on
        else t("price.line.open_ended", countries=countries, start=start, name=view.logged_by)
    )
    return [
        plain(view.title, bold=True),
        plain(line, subtle=True),
        *labelled(t("price.form.description"), view.description),
    ]


def price_action_logged_card(
    t: Texts, view: PriceActionView, at_risk: Sequence[str], others_at_risk: int = 0
) -> dict[str, Any]:
    """`at_risk`: the accounts the author may see; `others_at_risk` counts the rest, unnamed."""
    body: list[CardElement] = [heading(t("price.logged.title")), *_details(t, view)]
    if at_risk or others_at_risk:
        body.append(static(t("price.logged.at_risk"), bold=True))
        if at_risk:
            body.append(plain(names_text(t, at_risk)))
        if others_at_risk:
            body.append(static(t("price.logged.others", count=others_at_risk)))
    else:
        body.append(static(t("price.logged.none")))
    return card(body, fallback_text=t("price.logged.title"))


def price_risk_card(
    t: Texts, account_name: str, view: PriceActionView, attention: Attention, *, shown_to_channel: bool = True
) -> dict[str, Any]:
    """The warning in the account's channel, and the KA manager's 1:1 card."""
    body: list[CardElement] = [
        heading(t("price.risk.title", account=account_name)),
        static(t("price.risk.body")),
        *_details(t, view),
    ]
    title = t("price.risk.title", account=account_name)
    return card_with_attention(t, body, attention, anyone=shown_to_channel, fallback_text=title)
