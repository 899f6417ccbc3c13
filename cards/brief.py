"""The brief before a customer meeting: the meeting, who comes from the customer, what happened lately, what we
committed to, and the open conflicts; a glance, with the Log tab for the rest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from microsoft_teams.cards import Action, CardElement

from cards.build import callout, card, command_button, heading, labelled, plain, static
from cards.fit import NAME_WIDTH, first, shorten, to_tab
from cards.i18n import Texts
from cards.timeline import TimelineItem, timeline_item
from kam.briefs import (
    ATTENDEES_SHOWN,
    COMMITMENT_WEEKS,
    COMMITMENTS_SHOWN,
    CONFLICTS_SHOWN,
    RECENT_SHOWN,
    BriefContents,
)
from kam.models import Attitude, BuyingRole, FlagKind, aware

EXCERPT = 160  # characters of a summary or a commitment; the Log tab has the whole
ATTENDEE_WIDTH = 64  # a name as the calendar gives it
TITLE_WIDTH = 80


@dataclass(frozen=True)
class AttendeeLine:
    name: str
    known: bool  # a stakeholder of the account by that name
    title: str = ""
    buying_role: BuyingRole | None = None
    attitude: Attitude | None = None
    last_met: dt.date | None = None
    last_met_by: str = ""


@dataclass(frozen=True)
class CommitmentLine:
    on: dt.date
    text: str
    by: str


@dataclass(frozen=True)
class ConflictLine:
    """A conflict as the brief tells it: `owner` recorded the item that clashes, `other` the one it clashes with."""

    kind: FlagKind
    topic: str
    owner: str
    since: dt.date
    other: str = ""
    other_since: dt.date | None = None
    topic_hidden: bool = False


@dataclass(frozen=True)
class BriefView:
    """A brief as its reader sees it: times in their own time zone, confidential details already left out."""

    account_name: str
    subject: str
    starts: dt.datetime
    ends: dt.datetime
    attendees: Sequence[AttendeeLine]
    more_attendees: int
    recent: Sequence[TimelineItem]
    commitments: Sequence[CommitmentLine]
    more_commitments: int
    conflicts: Sequence[ConflictLine]
    more_conflicts: int


def brief_view(t: Texts, contents: BriefContents, zone: dt.tzinfo) -> BriefView:
    brief = contents.brief
    attendees = [
        AttendeeLine(
            a.name,
            a.stakeholder is not None,
            (a.stakeholder.title or "") if a.stakeholder else "",
            a.stakeholder.buying_role if a.stakeholder else None,
            a.stakeholder.attitude if a.stakeholder else None,
            a.last_met,
            a.last_met_by,
        )
        for a in contents.attendees
    ]
    conflicts = [
        ConflictLine(
            c.flag.kind,
            c.flag.topic,
            c.flag.owner.name,
            c.flag.created_at.date(),
            t("flag.group.hidden_owner") if c.other_hidden else (c.flag.related.owner.name if c.flag.related else ""),
            c.flag.related.created_at.date() if c.flag.related else None,
            topic_hidden=not c.topic_visible,
        )
        for c in contents.conflicts
    ]
    return BriefView(
        account_name=contents.account.name,
        subject=brief.subject,
        starts=aware(brief.starts_at).astimezone(zone),
        ends=aware(brief.ends_at).astimezone(zone),
        attendees=attendees,
        more_attendees=contents.more_attendees,
        recent=[timeline_item(t, r.item, r.on, hide_confidential=not r.visible) for r in contents.recent],
        commitments=[CommitmentLine(c.met_on, c.we_committed, c.logged_by.name) for c in contents.commitments],
        more_commitments=contents.more_commitments,
        conflicts=conflicts,
        more_conflicts=contents.more_conflicts,
    )


def _excerpt(text: str, width: int = EXCERPT) -> str:
    return shorten(" ".join(text.split()), width)


def _attendees(t: Texts, view: BriefView) -> list[CardElement]:
    body: list[CardElement] = [static(t("brief.attendees"), bold=True)]
    if not view.attendees:
        body.append(static(t("brief.attendees.none"), subtle=True))
    shown, more = first(view.attendees, ATTENDEES_SHOWN)
    for line in shown:
        body.append(plain(shorten(line.name, ATTENDEE_WIDTH), bold=True))
        facts = [
            shorten(line.title, TITLE_WIDTH),
            t(f"buying_role.{line.buying_role.value}") if line.buying_role else "",
            t(f"attitude.{line.attitude.value}") if line.attitude else "",
        ]
        if any(facts):
            body.append(plain(" · ".join(f for f in facts if f), subtle=True))
        elif not line.known:
            body.append(static(t("brief.attendee.unknown"), subtle=True))
        if line.last_met:
            by = shorten(line.last_met_by, NAME_WIDTH)
            body.append(plain(t("brief.attendee.last_met", date=line.last_met.isoformat(), name=by), subtle=True))
        else:
            body.append(callout(t("brief.attendee.never_met"), "attention", user_text=False))
    if more + view.more_attendees:
        body.append(static(t("brief.more", count=more + view.more_attendees), subtle=True))
    return body


def _recent(t: Texts, view: BriefView) -> list[CardElement]:
    body: list[CardElement] = [static(t("brief.recent"), bold=True)]
    if not view.recent:
        body.append(static(t("brief.recent.none"), subtle=True))
    for item in view.recent[:RECENT_SHOWN]:
        kind = t("timeline.decision") if item.kind == "decision" else item.label
        body.append(plain(f"{item.on.isoformat()} · {kind} · {_excerpt(item.headline)}", bold=True))
        if item.text:
            body.append(plain(_excerpt(item.text)))
        body.append(plain(t("timeline.by", name=shorten(item.by, NAME_WIDTH)), subtle=True))
    return body


def _commitments(t: Texts, view: BriefView) -> list[CardElement]:
    body: list[CardElement] = [static(t("brief.commitments", weeks=COMMITMENT_WEEKS), bold=True)]
    if not view.commitments:
        body.append(static(t("brief.commitments.none"), subtle=True))
    shown, more = first(view.commitments, COMMITMENTS_SHOWN)
    for line in shown:
        by = shorten(line.by, NAME_WIDTH)
        body.append(plain(t("brief.commitment", date=line.on.isoformat(), text=_excerpt(line.text), name=by)))
    if more + view.more_commitments:
        body.append(static(t("brief.more", count=more + view.more_commitments), subtle=True))
    return body


def _conflict_text(t: Texts, line: ConflictLine) -> str:
    key = f"brief.conflict.{line.kind.value}"
    if line.topic_hidden:
        return t(f"{key}.hidden")
    return t(
        key,
        topic=_excerpt(line.topic),
        owner=shorten(line.owner, NAME_WIDTH),
        since=line.since.isoformat(),
        other=shorten(line.other, NAME_WIDTH),
        other_since=line.other_since.isoformat() if line.other_since else "",
    )


def _conflicts(t: Texts, view: BriefView) -> list[CardElement]:
    if not view.conflicts:
        return [static(t("brief.conflicts"), bold=True), static(t("brief.conflicts.none"), subtle=True)]
    body: list[CardElement] = [callout(t("brief.conflicts"), "attention", bold=True, user_text=False)]
    shown, more = first(view.conflicts, CONFLICTS_SHOWN)
    body += [callout(_conflict_text(t, line), "attention") for line in shown]
    if more + view.more_conflicts:
        body.append(callout(t("brief.more", count=more + view.more_conflicts), "attention", user_text=False))
    return body


def meeting_brief_card(t: Texts, view: BriefView, log_url: str | None = None) -> dict[str, Any]:
    """`log_url`: the account's Log tab, where every contact and decision is whole."""
    title = t("brief.title", account=view.account_name)
    body: list[CardElement] = [
        heading(title),
        *labelled(t("brief.subject"), view.subject),
        *labelled(t("brief.when"), f"{view.starts:%Y-%m-%d %H:%M}–{view.ends:%H:%M}"),
        *_attendees(t, view),
        *_conflicts(t, view),
        *_recent(t, view),
        *_commitments(t, view),
    ]
    actions: list[Action] = [*to_tab(t, "log", log_url), command_button(t("brief.pause"), t("command.pause_nudges"))]
    return card(body, actions, fallback_text=title)
