"""The "what's new" card: an account's latest contacts and decisions, with paging."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from microsoft_teams.cards import Action, CardElement

from cards.build import card, heading, plain, static
from cards.fit import shorten, to_tab
from cards.forms import action_data, execute_action, new_card_id
from cards.i18n import Texts
from kam.models import Contact, Decision
from kam.timeline import PAGE_SIZE

VERB_TIMELINE_PAGE = "timeline.page"
EXCERPT = 160


@dataclass(frozen=True)
class TimelineItem:
    kind: Literal["contact", "decision"]
    on: dt.date
    label: str  # contact kind or decision category, already in the user's language
    headline: str  # people met, or the decision's title
    text: str  # summary, or the decision
    by: str


def timeline_item(t: Texts, item: Contact | Decision, on: dt.date, *, hide_confidential: bool) -> TimelineItem:
    """One contact or decision as a line of the timeline (and of the Log tab); confidential details hidden."""
    if isinstance(item, Decision):
        label = t(f"category.{item.category.value}")
        return TimelineItem("decision", on, label, item.title, item.decision, item.logged_by.name)
    hidden = item.confidential and hide_confidential
    people = ", ".join([s.name for s in item.stakeholders] + [item.customer_people] * bool(item.customer_people))
    headline = t("timeline.confidential") if hidden else people
    text = "" if hidden else item.summary
    return TimelineItem("contact", on, t(f"kind.{item.kind.value}"), headline, text, item.logged_by.name)


def _excerpt(text: str) -> str:
    """A line of the item; the Log tab has the whole of it."""
    return shorten(" ".join(text.split()), EXCERPT)


def timeline_card(
    t: Texts,
    account_id: int,
    account_name: str,
    items: list[TimelineItem],
    *,
    offset: int,
    total: int,
    today: dt.date,
    log_url: str | None = None,
) -> dict[str, Any]:
    """A page of PAGE_SIZE items, each begun; `log_url`: the account's Log tab, where they are whole."""
    body: list[CardElement] = [heading(t("timeline.title", account=account_name))]
    if not items:
        body.append(static(t("timeline.empty")))
    for item in items:
        kind = t("timeline.decision") if item.kind == "decision" else item.label
        body.append(plain(f"{item.on.isoformat()} · {kind} · {_excerpt(item.headline)}", bold=True))
        if item.kind == "decision":
            body.append(static(item.label, subtle=True))
        if item.text:
            body.append(plain(_excerpt(item.text)))
        body.append(plain(t("timeline.by", name=item.by), subtle=True))
    if total:
        body.append(
            static(t("timeline.position", first=offset + 1, last=offset + len(items), total=total), subtle=True)
        )
    actions: list[Action] = []
    if offset > 0:
        data = action_data(
            VERB_TIMELINE_PAGE, new_card_id(), today, account_id=account_id, offset=max(0, offset - PAGE_SIZE)
        )
        actions.append(execute_action(t("timeline.newer"), data))
    if offset + len(items) < total:
        data = action_data(VERB_TIMELINE_PAGE, new_card_id(), today, account_id=account_id, offset=offset + len(items))
        actions.append(execute_action(t("timeline.older"), data))
    actions += to_tab(t, "log", log_url) if items else []
    return card(body, actions, fallback_text=t("timeline.title", account=account_name))
