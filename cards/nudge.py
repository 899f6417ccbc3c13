"""The weekly nudge: one tap from "anything to log?" to the form of that account."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cards.build import card, command_button, heading, plain, static
from cards.contact import VERB_PICK, VERB_PICK_FOR_DECISION, action_data, execute_action, new_card_id
from cards.i18n import Texts


def weekly_nudge_card(t: Texts, account_id: int, account_name: str, today: dt.date) -> dict[str, Any]:
    body = [heading(t("nudge.weekly.title")), plain(account_name, bold=True), static(t("nudge.weekly.body"))]
    actions = [
        execute_action(t("nudge.log_contact"), action_data(VERB_PICK, new_card_id(), today, account_id=account_id)),
        execute_action(
            t("nudge.log_decision"), action_data(VERB_PICK_FOR_DECISION, new_card_id(), today, account_id=account_id)
        ),
        command_button(t("nudge.pause"), t("command.pause_nudges")),
    ]
    return card(body, actions, fallback_text=t("nudge.weekly.title"))
