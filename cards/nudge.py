"""The after-meeting nudge: one tap from "you met the customer" to the form of that account."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cards.build import card, command_button, heading, labelled, plain, static
from cards.contact import carried
from cards.errors import MalformedSubmission
from cards.fit import names_text
from cards.forms import VERB_PICK, action_data, execute_action, new_card_id
from cards.i18n import Texts

VERB_MEETING_NOT_RELEVANT = "nudge.meeting.not_relevant"
PEOPLE_SHOWN = 6


@dataclass(frozen=True)
class MeetingView:
    """A customer meeting as the person asked sees it: times in their own time zone."""

    nudge_id: int
    account_id: int
    account_name: str
    subject: str
    starts: dt.datetime
    ends: dt.datetime
    customer_people: Sequence[str]
    colleague_ids: Sequence[int]


def meeting_nudge_card(t: Texts, meeting: MeetingView, today: dt.date) -> dict[str, Any]:
    """ "You met ... log it?": the contact form opens with date, customer people, our attendees and subject."""
    people = names_text(t, meeting.customer_people, most=PEOPLE_SHOWN)
    when = f"{meeting.starts:%Y-%m-%d %H:%M}–{meeting.ends:%H:%M}"
    body = [
        heading(t("nudge.meeting.title", people=people)),
        plain(meeting.account_name, bold=True),
        *labelled(t("nudge.meeting.subject"), meeting.subject),
        *labelled(t("nudge.meeting.when"), when),
        static(t("nudge.meeting.body")),
    ]
    prefilled = carried(
        {
            "met_on": meeting.starts.date().isoformat(),
            "customer_people": ", ".join(meeting.customer_people),
            "summary": meeting.subject,
            "participants": ",".join(str(i) for i in meeting.colleague_ids),
        }
    )
    dismiss = action_data(VERB_MEETING_NOT_RELEVANT, new_card_id(), today, nudge_id=meeting.nudge_id)
    actions = [
        execute_action(
            t("nudge.meeting.log"),
            action_data(VERB_PICK, new_card_id(), today, account_id=meeting.account_id, **prefilled),
        ),
        execute_action(t("nudge.meeting.not_relevant"), dismiss),
        command_button(t("nudge.pause"), t("command.pause_nudges")),
    ]
    return card(body, actions, fallback_text=t("nudge.meeting.title", people=people))


def meeting_dismissed_card(t: Texts, subject: str) -> dict[str, Any]:
    return card([static(t("nudge.meeting.dismissed")), plain(subject, subtle=True)], [], fallback_text=subject)


def read_nudge_id(value: Mapping[str, Any]) -> int:
    raw = value.get("nudge_id")
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        raise MalformedSubmission()
    return raw
