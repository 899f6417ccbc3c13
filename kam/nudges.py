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

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import (
    Account,
    AccountMember,
    Contact,
    Decision,
    MeetingNudge,
    NudgeSent,
    OutboxMessage,
    Person,
    aware,
    contact_participants,
    utcnow,
)
from kam.outbox import OutboxKind
from kam.storage import insert_if_absent

LOGGED = "logged"  # a meeting nudge answered by logging the contact
NOT_RELEVANT = "not_relevant"  # ... or by saying it was no customer meeting worth logging
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKLY_ANSWER_WINDOW = dt.timedelta(days=8)  # a weekly nudge is answered within its week (in any time zone)
MEETING_ANSWER_WINDOW = dt.timedelta(days=31)  # a meeting is logged within a month of its nudge, or not at all


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
    """Queue the nudges due now; returns how many.

    It runs on every sweep: three queries whatever the number of members (who is on which account,
    the claims and the logging of the last eight days), then a claim per nudge that goes.
    """
    now = now or utcnow()
    recent = now - dt.timedelta(days=8)  # covers the current week in every time zone
    claims = select(NudgeSent.person_id, NudgeSent.account_id, NudgeSent.week).where(NudgeSent.sent_at >= recent)
    claimed = {tuple(row) for row in await session.execute(claims)}
    last_logged = await _last_logged(session, recent)
    members = await session.execute(
        select(AccountMember.account_id, Person)
        .join(Person, Person.id == AccountMember.person_id)
        .join(Account, Account.id == AccountMember.account_id)
        .where(Account.active.is_(True), Person.nudges_paused.is_(False))
        .order_by(AccountMember.account_id, Person.id)
    )
    queued = 0
    for account_id, person in members.all():
        if not (person.teams_user_id or person.aad_object_id):
            continue
        local = local_now(person, now)
        if local.weekday() != when.weekday or local.hour < when.hour:
            continue
        if (person.id, account_id, week_of(local)) in claimed:
            continue
        logged = last_logged.get((person.id, account_id))
        if logged is not None and aware(logged) >= _week_start(local):
            continue
        claim = {"person_id": person.id, "account_id": account_id, "week": week_of(local), "sent_at": now}
        if not await insert_if_absent(session, NudgeSent, claim, ["person_id", "account_id", "week"]):
            continue  # nudged already this week (by another instance, a moment ago)
        session.add(OutboxMessage(kind=OutboxKind.NUDGE_WEEKLY, subject_id=person.id, account_id=account_id))
        queued += 1
    return queued


async def _last_logged(session: AsyncSession, since: dt.datetime) -> dict[tuple[int, int], dt.datetime]:
    """When each member last logged a contact or decision for each account, since `since`."""
    latest: dict[tuple[int, int], dt.datetime] = {}
    for model in (Contact, Decision):
        rows = await session.execute(
            select(model.logged_by_id, model.account_id, func.max(model.created_at))
            .where(model.created_at >= since)
            .group_by(model.logged_by_id, model.account_id)
        )
        for person_id, account_id, moment in rows.all():
            key = (person_id, account_id)
            latest[key] = max(aware(moment), latest.get(key, aware(moment)))
    return latest


def set_paused(person: Person, paused: bool) -> None:
    person.nudges_paused = paused


async def answer_nudges(session: AsyncSession, now: dt.datetime | None = None) -> int:
    """Mark the nudges that what was logged since has answered; returns how many.

    Run by the sweep, so that the turn that logs writes only what the user logged. A weekly
    nudge is answered by a contact or decision its member logged for its account after it
    went, in its week; a meeting nudge by a contact of the meeting's day (in the member's time
    zone) that its member logged or is named on. The answer's time is when that was logged.
    Only the counts of answered nudges read these marks: whether a nudge still goes is checked
    against what was logged when it is sent.
    """
    now = now or utcnow()
    return await _answer_weekly(session, now - WEEKLY_ANSWER_WINDOW) + await _answer_meetings(
        session, now - MEETING_ANSWER_WINDOW
    )


async def _answer_weekly(session: AsyncSession, since: dt.datetime) -> int:
    waiting = (
        await session.execute(
            select(NudgeSent, Person)
            .join(Person, Person.id == NudgeSent.person_id)
            .where(NudgeSent.answered_at.is_(None), NudgeSent.sent_at >= since)
        )
    ).all()
    if not waiting:
        return 0
    oldest = min(aware(nudge.sent_at) for nudge, _ in waiting)
    logged: dict[tuple[int, int], list[dt.datetime]] = {}
    for model in (Contact, Decision):
        rows = await session.execute(
            select(model.logged_by_id, model.account_id, model.created_at).where(
                model.created_at >= oldest, model.logged_by_id.in_({person.id for _, person in waiting})
            )
        )
        for person_id, account_id, moment in rows.all():
            logged.setdefault((person_id, account_id), []).append(aware(moment))
    answered = 0
    for nudge, person in waiting:
        times = [
            moment
            for moment in logged.get((person.id, nudge.account_id), [])
            if moment >= aware(nudge.sent_at) and week_of(local_now(person, moment)) == nudge.week
        ]
        if times:
            nudge.answered_at = min(times)
            answered += 1
    return answered


async def _answer_meetings(session: AsyncSession, since: dt.datetime) -> int:
    waiting = list(
        await session.scalars(
            select(MeetingNudge).where(MeetingNudge.answer.is_(None), MeetingNudge.created_at >= since)
        )
    )
    if not waiting:
        return 0
    day_of = {nudge.id: local_now(nudge.person, nudge.starts_at).date() for nudge in waiting}
    contacts = (
        await session.execute(
            select(Contact.id, Contact.account_id, Contact.met_on, Contact.logged_by_id, Contact.created_at).where(
                Contact.account_id.in_({nudge.account_id for nudge in waiting}),
                Contact.met_on.in_(set(day_of.values())),
                Contact.created_at >= min(aware(nudge.created_at) for nudge in waiting),
            )
        )
    ).all()
    named: dict[int, set[int]] = {}
    if contacts:
        links = await session.execute(
            select(contact_participants.c.contact_id, contact_participants.c.person_id).where(
                contact_participants.c.contact_id.in_([c.id for c in contacts])
            )
        )
        for contact_id, person_id in links.all():
            named.setdefault(contact_id, set()).add(person_id)
    answered = 0
    for nudge in waiting:
        times = [
            aware(c.created_at)
            for c in contacts
            if c.account_id == nudge.account_id
            and c.met_on == day_of[nudge.id]
            and aware(c.created_at) >= aware(nudge.created_at)
            and (c.logged_by_id == nudge.person_id or nudge.person_id in named.get(c.id, set()))
        ]
        if times:
            nudge.answer, nudge.answered_at = LOGGED, min(times)
            answered += 1
    return answered
