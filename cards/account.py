"""The "new account" card for KA managers, and the parsing of what it sends."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from microsoft_teams.cards import CardElement, Choice, ChoiceSetInput, TextInput, ToggleInput

from cards.build import callout, card, heading, plain, static
from cards.forms import FormState, action_data, execute_action, field_error, form_state, new_card_id
from cards.i18n import Texts
from kam.account_list import bad_countries, bad_domains, split_list
from kam.accounts import NewAccount
from kam.models import Tier

VERB_CREATE = "account.create"
NAME_MAX = 200
LIST_MAX = 500
FIELDS = ("name", "tier", "customer_domains", "countries", "confidential")


def new_account_card(
    t: Texts, today: dt.date, state: FormState | None = None, card_id: str | None = None
) -> dict[str, Any]:
    state = state or FormState(values={"tier": Tier.KEY_ACCOUNT.value})
    body: list[CardElement] = [heading(t("account.new.title")), static(t("account.new.body"), subtle=True)]
    if state.errors:
        body.append(callout(t("form.fix_errors"), "attention", bold=True, user_text=False))
    body += [
        TextInput(
            id="name",
            label=t("account.new.name"),
            value=state.values.get("name") or None,
            max_length=NAME_MAX,
            is_required=True,
            error_message=t("field.required"),
        ),
        *field_error(state, "name"),
        ChoiceSetInput(
            id="tier",
            label=t("account.new.tier"),
            style="compact",
            is_required=True,
            error_message=t("field.required"),
            value=state.values.get("tier") or None,
            choices=[Choice(title=t(f"tier.{tier.value}"), value=tier.value) for tier in Tier],
        ),
        *field_error(state, "tier"),
        TextInput(
            id="customer_domains",
            label=t("account.new.domains"),
            placeholder="contoso.com; contoso.de",
            value=state.values.get("customer_domains") or None,
            max_length=LIST_MAX,
        ),
        *field_error(state, "customer_domains"),
        TextInput(
            id="countries",
            label=t("account.new.countries"),
            placeholder="DE; AT; CH",
            value=state.values.get("countries") or None,
            max_length=LIST_MAX,
        ),
        *field_error(state, "countries"),
        ToggleInput(
            id="confidential",
            title=t("account.new.confidential"),
            value_on="true",
            value_off="false",
            value="true" if state.values.get("confidential") == "true" else "false",
        ),
    ]
    data = action_data(VERB_CREATE, card_id or new_card_id(), today)
    return card(body, [execute_action(t("account.new.submit"), data)], fallback_text=t("account.new.title"))


def parse_new_account(t: Texts, value: Mapping[str, Any]) -> NewAccount | FormState:
    state = form_state(value, FIELDS)
    values, errors = state.values, state.errors
    name = re.sub(r"\s+", " ", values.get("name", ""))
    if not name:
        errors["name"] = t("field.required")
    elif len(name) > NAME_MAX:
        errors["name"] = t("field.too_long", max=NAME_MAX, length=len(name))
    tiers = {tier.value for tier in Tier}
    if values.get("tier") not in tiers:
        errors["tier"] = t("field.bad_choice")
    domains = [d.lower() for d in split_list(values.get("customer_domains", ""))]
    if bad_domains(domains):
        errors["customer_domains"] = t("account.new.bad_domains", values=", ".join(bad_domains(domains)))
    countries = [c.upper() for c in split_list(values.get("countries", ""))]
    if bad_countries(countries):
        errors["countries"] = t("account.new.bad_countries", values=", ".join(bad_countries(countries)))
    if errors:
        return state
    return NewAccount(
        name=name,
        tier=Tier(values["tier"]),
        customer_domains=tuple(dict.fromkeys(domains)),
        countries=tuple(dict.fromkeys(countries)),
        confidential=values.get("confidential") == "true",
    )


def name_taken(t: Texts, value: Mapping[str, Any]) -> FormState:
    """The form as sent, with the name marked as taken."""
    state = form_state(value, FIELDS)
    state.errors["name"] = t("account.new.exists")
    return state


def account_created_card(t: Texts, name: str, tier: Tier) -> dict[str, Any]:
    body = [
        heading(t("account.created.title")),
        plain(name, bold=True),
        static(t(f"tier.{tier.value}"), subtle=True),
        static(t("account.created.next")),
    ]
    return card(body, fallback_text=t("account.created.title"))
