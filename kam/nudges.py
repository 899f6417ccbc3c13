"""What the questions kambot asks share: the person's own time and week, pausing them, and their answers.

The weekly digest (kam/digest.py) and the after-meeting nudges (kam/meetings.py) go at times in
the member's own time zone (from their Teams client; UTC until the bot has heard from them).
Members can pause them for themselves. Logging a contact or decision answers them (`answer_nudges`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import (
    Contact,
    Decision,
    MeetingNudge,
    NudgeSent,
    Person,
    aware,
    contact_participants,
)

LOGGED = "logged"  # a meeting nudge answered by logging the contact
NOT_RELEVANT = "not_relevant"  # ... or by saying it was no customer meeting worth logging
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class NudgeTime:
    """When the weekly digest goes, where each person is: the tenant's weekday (0 = Monday; None: only to
    those who chose a day of their own) and hour."""

    weekday: int | None
    hour: int


def zone_of(person: Person) -> dt.tzinfo:
    """The person's time zone (from their Teams client); UTC until known, or when it is not one."""
    try:
        return ZoneInfo(person.time_zone) if person.time_zone else dt.UTC
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def local_now(person: Person, now: dt.datetime) -> dt.datetime:
    return aware(now).astimezone(zone_of(person))


def week_of(moment: dt.datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(local: dt.datetime) -> dt.datetime:
    """Monday 00:00 of `local`'s week, where the person is, in UTC."""
    monday = local - dt.timedelta(days=local.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)


def set_paused(person: Person, paused: bool) -> None:
    person.nudges_paused = paused


# Built once, bound per logged item (executemany): only what is still unanswered changes.
_ANSWER_WEEKLY = (
    update(NudgeSent)
    .where(
        NudgeSent.person_id == bindparam("person"),
        NudgeSent.account_id == bindparam("account"),
        NudgeSent.week == bindparam("this_week"),
        NudgeSent.answered_at.is_(None),
    )
    .values(answered_at=bindparam("at"))
)
_ANSWER_MEETINGS = (
    update(MeetingNudge)
    .where(
        MeetingNudge.person_id == bindparam("person"),
        MeetingNudge.account_id == bindparam("account"),
        MeetingNudge.starts_at >= bindparam("day_starts"),
        MeetingNudge.starts_at < bindparam("day_ends"),
        MeetingNudge.answer.is_(None),
    )
    .values(answer=LOGGED, answered_at=bindparam("at"))
)


async def answer_nudges(session: AsyncSession, since: dt.datetime) -> None:
    """Mark the nudges answered by the contacts and decisions logged since `since`.

    Run by the sweep, so that the turn that logs writes only what the user logged. A contact or
    decision answers its author's weekly nudge for its account in the week it was logged (in the
    author's time zone); a contact answers the meeting nudges for that account of its author and of
    the colleagues named on it, for meetings on its day in each one's time zone. The answer's time
    is when it was logged; a nudge answered already (or dismissed) keeps its answer, so reading an
    item twice changes nothing. Only the counts of answered nudges read these marks: whether a
    nudge still goes is checked against what was logged when it is sent.
    """
    contacts = (
        await session.execute(
            select(Contact.id, Contact.account_id, Contact.logged_by_id, Contact.met_on, Contact.created_at).where(
                Contact.created_at >= since
            )
        )
    ).all()
    decisions = (
        await session.execute(
            select(Decision.account_id, Decision.logged_by_id, Decision.created_at).where(Decision.created_at >= since)
        )
    ).all()
    if not contacts and not decisions:
        return
    recent = select(Contact.id).where(Contact.created_at >= since)
    named: dict[int, list[int]] = {}
    for contact_id, person_id in (
        await session.execute(
            select(contact_participants.c.contact_id, contact_participants.c.person_id).where(
                contact_participants.c.contact_id.in_(recent)
            )
        )
    ).all():
        named.setdefault(contact_id, []).append(person_id)
    involved = {c.logged_by_id for c in contacts} | {d.logged_by_id for d in decisions}
    involved |= {person_id for ids in named.values() for person_id in ids}
    people = {p.id: p for p in await session.scalars(select(Person).where(Person.id.in_(involved)))}
    weekly = [
        {"person": author, "account": account, "this_week": week_of(local_now(people[author], aware(at))), "at": at}
        for account, author, at in [(c.account_id, c.logged_by_id, c.created_at) for c in contacts]
        + [(d.account_id, d.logged_by_id, d.created_at) for d in decisions]
        if author in people
    ]
    meetings = [
        {"person": person_id, "account": c.account_id, "at": c.created_at, **_day_in_utc(people[person_id], c.met_on)}
        for c in contacts
        for person_id in dict.fromkeys([c.logged_by_id, *named.get(c.id, [])])
        if person_id in people
    ]
    connection = await session.connection()  # Core on the connection: no rows loaded, none to keep in step
    for statement, rows in ((_ANSWER_WEEKLY, weekly), (_ANSWER_MEETINGS, meetings)):
        if rows:
            await connection.execute(statement, sorted(rows, key=lambda row: row["at"]))


def _day_in_utc(person: Person, day: dt.date) -> dict[str, dt.datetime]:
    """The person's calendar day, from midnight to midnight where they are, in UTC."""
    zone = zone_of(person)
    starts = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    ends = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return {"day_starts": starts.astimezone(dt.UTC), "day_ends": ends.astimezone(dt.UTC)}
