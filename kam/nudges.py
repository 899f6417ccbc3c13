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

from sqlalchemy import bindparam, func, select, update
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


@dataclass(frozen=True)
class NudgeTime:
    weekday: int  # 0 = Monday
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
