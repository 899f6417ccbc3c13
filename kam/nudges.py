"""The weekly nudge: once a week, each member is asked about each of their accounts, unless they logged already.

It goes at the configured weekday and hour in the member's own time zone (from
their Teams client; UTC until the bot has heard from them), at most once per
member, account and week, whichever instance gets there first: the unique
(person, account, week) row is the claim. Members can pause it for themselves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import Account, Contact, Decision, MeetingNudge, NudgeSent, OutboxMessage, Person, aware, utcnow
from kam.storage import insert_if_absent

NUDGE_WEEKLY = "nudge.weekly"  # subject: the member; account: the account asked about
LOGGED = "logged"  # a meeting nudge answered by logging the contact
NOT_RELEVANT = "not_relevant"  # ... or by saying it was no customer meeting worth logging
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class NudgeTime:
    weekday: int  # 0 = Monday
    hour: int


def local_now(person: Person, now: dt.datetime) -> dt.datetime:
    try:
        zone = ZoneInfo(person.time_zone) if person.time_zone else dt.UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    return aware(now).astimezone(zone)


def week_of(moment: dt.datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


async def _logged_since(session: AsyncSession, person: Person, account: Account, since: dt.datetime) -> bool:
    for model in (Contact, Decision):
        query = select(model.id).where(
            model.account_id == account.id, model.logged_by_id == person.id, model.created_at >= since
        )
        if await session.scalar(query.limit(1)) is not None:
            return True
    return False


def _week_start(local: dt.datetime) -> dt.datetime:
    monday = local - dt.timedelta(days=local.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)


async def still_wanted(session: AsyncSession, person: Person, account: Account, now: dt.datetime | None = None) -> bool:
    """Checked again when the nudge is sent: the member may have paused or logged in between."""
    if person.nudges_paused:
        return False
    return not await _logged_since(session, person, account, _week_start(local_now(person, now or utcnow())))


async def schedule_weekly_nudges(session: AsyncSession, when: NudgeTime, now: dt.datetime | None = None) -> int:
    """Queue the nudges due now; returns how many."""
    now = now or utcnow()
    queued = 0
    accounts = await session.scalars(select(Account).where(Account.active.is_(True)).order_by(Account.id))
    for account in accounts:
        for member in account.members:
            person = member.person
            if person.nudges_paused or not (person.teams_user_id or person.aad_object_id):
                continue
            local = local_now(person, now)
            if local.weekday() != when.weekday or local.hour < when.hour:
                continue
            if await _logged_since(session, person, account, _week_start(local)):
                continue
            claim = {"person_id": person.id, "account_id": account.id, "week": week_of(local), "sent_at": now}
            if not await insert_if_absent(session, NudgeSent, claim, ["person_id", "account_id", "week"]):
                continue  # nudged already this week (here, or by another instance)
            session.add(OutboxMessage(kind=NUDGE_WEEKLY, subject_id=person.id, account_id=account.id))
            queued += 1
    return queued


def set_paused(person: Person, paused: bool) -> None:
    person.nudges_paused = paused


async def note_logged(session: AsyncSession, people: list[Person], account_id: int, met_on: dt.date | None) -> None:
    """Something was logged for the account: the nudges it answers count as answered.

    The week's nudge of its author; meeting nudges of the author and of colleagues named on it, for
    meetings that day (contacts only: a decision answers no meeting).
    """
    now = utcnow()
    author = people[0]
    await session.execute(
        update(NudgeSent)
        .where(
            NudgeSent.person_id == author.id,
            NudgeSent.account_id == account_id,
            NudgeSent.week == week_of(local_now(author, now)),
            NudgeSent.answered_at.is_(None),
        )
        .values(answered_at=now)
    )
    if met_on is None:
        return
    by_id = {person.id: person for person in people}
    waiting = await session.scalars(
        select(MeetingNudge).where(
            MeetingNudge.person_id.in_(by_id),
            MeetingNudge.account_id == account_id,
            MeetingNudge.answer.is_(None),
        )
    )
    for nudge in waiting:
        if local_now(by_id[nudge.person_id], nudge.starts_at).date() == met_on:
            nudge.answer, nudge.answered_at = LOGGED, now
