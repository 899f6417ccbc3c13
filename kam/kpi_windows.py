"""The figures of complete days: how information flows on an account and who met whom, from the rows of the
last 90 days (the relationship model: of the year). Each query groups by account; none runs per account.

Windows end at the start of a day and count only what happened before it (a post delivered, an
acknowledgement given, a meeting read from the calendar, a contact logged), so the figures stay the
same all that day (kam.kpis.KpiCache keeps them). Time differences are taken in SQL on both databases.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Float,
    Select,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import (
    AccountMember,
    Acknowledgement,
    Contact,
    Decision,
    MeetingNudge,
    OutboxMessage,
    OutboxStatus,
    Person,
    aware,
)
from kam.outbox import OutboxKind
from kam.stakeholders import COVERAGE_DAYS, MODEL_DAYS, model_of, people_who_met

FLOW_DAYS = 90
ACK_WITHIN = dt.timedelta(hours=24)
MEETING_WORKDAYS = 2
MEETING_REACH = dt.timedelta(days=2)  # how long before the window a meeting that ends in it can have started

# -- arithmetic shared by every figure ------------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float | None:
    """Linear interpolation between the closest ranks, as PostgreSQL's percentile_cont."""
    if not values:
        return None
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def working_days_after(start: dt.date, end: dt.date) -> int:
    """Working days (Monday to Friday) after `start` up to and including `end`: Friday to Tuesday is 2."""
    if end <= start:
        return 0
    days = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days += 1
    return days


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def seconds_between(session: AsyncSession, later: Any, earlier: Any) -> ColumnElement[float]:
    """`later - earlier` in seconds, in SQL, on both databases."""
    if is_postgres(session):
        return cast(extract("epoch", later - earlier), Float)
    # Rounded to the millisecond: julianday's doubles would put exactly 24 h a few microseconds over.
    return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3)


def month_of(session: AsyncSession, moment: Any) -> ColumnElement[str]:
    if is_postgres(session):
        return func.to_char(func.timezone("UTC", moment), "YYYY-MM")
    return func.strftime("%Y-%m", moment)


# -- information flow ------------------------------------------------------------------------------------------------


async def post_minutes(
    session: AsyncSession, ids: list[int], since: dt.datetime, until: dt.datetime
) -> dict[int, tuple[float | None, float | None]]:
    """Median and p90 of the minutes from an item logged to its channel post delivered, per account."""
    posted = []
    for model, kind in ((Contact, OutboxKind.CONTACT_LOGGED), (Decision, OutboxKind.DECISION_LOGGED)):
        posted.append(
            select(
                model.account_id.label("account_id"),
                seconds_between(session, OutboxMessage.sent_at, model.created_at).label("seconds"),
            )
            .join(OutboxMessage, and_(OutboxMessage.subject_id == model.id, OutboxMessage.kind == kind.value))
            .where(
                model.account_id.in_(ids),
                model.created_at >= since,
                model.created_at < until,
                OutboxMessage.status == OutboxStatus.SENT,
                OutboxMessage.sent_at < until,
            )
        )
    delays = union_all(*posted).subquery()
    if is_postgres(session):
        rows = await session.execute(
            select(
                delays.c.account_id,
                func.percentile_cont(0.5).within_group(delays.c.seconds),
                func.percentile_cont(0.9).within_group(delays.c.seconds),
            ).group_by(delays.c.account_id)
        )
        return {account_id: (_minutes(mid), _minutes(p90)) for account_id, mid, p90 in rows.all()}
    seconds: dict[int, list[float]] = defaultdict(list)
    for account_id, value in (await session.execute(select(delays.c.account_id, delays.c.seconds))).all():
        seconds[account_id].append(max(float(value), 0.0))
    return {
        account_id: (_minutes(percentile(values, 0.5)), _minutes(percentile(values, 0.9)))
        for account_id, values in seconds.items()
    }


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(max(float(seconds), 0.0) / 60.0, 2)


def acknowledgements_in_time(
    session: AsyncSession, ids: list[int], since: dt.datetime, until: dt.datetime, *by: Any
) -> Select[Any]:
    """Per account (and `by`, e.g. a month): the required acknowledgements asked in the window whose answer is
    known, and how many of them were given within 24 h. One asked less than 24 h before the window ends and not
    yet given is still undecided: left out."""
    waited = seconds_between(session, Acknowledgement.acknowledged_at, Acknowledgement.created_at)
    in_time = and_(Acknowledgement.acknowledged_at < until, waited <= ACK_WITHIN.total_seconds())
    decided = (Acknowledgement.created_at <= until - ACK_WITHIN) | in_time
    return (
        select(Acknowledgement.account_id, *by, func.count(), func.sum(case((in_time, 1), else_=literal(0))))
        .where(
            Acknowledgement.account_id.in_(ids),
            Acknowledgement.required.is_(True),
            Acknowledgement.created_at >= since,
            Acknowledgement.created_at < until,
            decided,
        )
        .group_by(Acknowledgement.account_id, *by)
    )


async def acknowledged_in_time(
    session: AsyncSession, ids: list[int], since: dt.datetime, until: dt.datetime
) -> dict[int, float | None]:
    """Share of required acknowledgements asked in the window and given within 24 h (acknowledgements_in_time)."""
    rows = await session.execute(acknowledgements_in_time(session, ids, since, until))
    return {account_id: share(int(good or 0), int(asked)) for account_id, asked, good in rows.all()}


async def meetings_logged(
    session: AsyncSession, ids: list[int], since: dt.datetime, until: dt.datetime
) -> dict[int, float | None]:
    """Share of the calendar's customer meetings (one per meeting, however many of us attended) with a contact
    logged for the account between the meeting's start and the end of the second working day after it ended.
    A meeting whose two working days have not passed yet counts once logged, and is left out until then."""
    meetings = (
        select(
            MeetingNudge.account_id.label("account_id"),
            MeetingNudge.meeting_key.label("meeting_key"),
            func.min(MeetingNudge.starts_at).label("starts_at"),
            func.max(MeetingNudge.ends_at).label("ends_at"),
        )
        .where(
            MeetingNudge.account_id.in_(ids),
            MeetingNudge.ends_at >= since,
            MeetingNudge.ends_at < until,
            MeetingNudge.created_at < until,
        )
        .group_by(MeetingNudge.account_id, MeetingNudge.meeting_key)
        .subquery()
    )
    # The first contact logged at or after each meeting's start, by one pass over the account's meetings and
    # contacts in time order (a window function): a contact logged at the meeting's start counts.
    contacts = select(Contact.account_id, Contact.created_at, literal(1), cast(null(), DateTime(timezone=True))).where(
        Contact.account_id.in_(ids), Contact.created_at >= since - MEETING_REACH, Contact.created_at < until
    )
    events = union_all(
        select(meetings.c.account_id, meetings.c.starts_at.label("at"), literal(0).label("kind"), meetings.c.ends_at),
        contacts,
    ).subquery()
    # Newest first, so that the frame only grows (a running minimum, not one per row).
    next_contact = func.min(case((events.c.kind == 1, events.c.at))).over(
        partition_by=events.c.account_id, order_by=(events.c.at.desc(), events.c.kind.desc()), rows=(None, 0)
    )
    ordered = select(events.c.account_id, events.c.ends_at, events.c.kind, next_contact.label("logged_at")).subquery()
    rows = await session.execute(
        select(ordered.c.account_id, ordered.c.ends_at, ordered.c.logged_at).where(ordered.c.kind == 0)
    )
    today = until.date()
    counted: dict[int, list[bool]] = defaultdict(list)
    for account_id, ends_at, logged_at in rows.all():
        ended = aware(ends_at).date()
        if logged_at is not None and working_days_after(ended, aware(logged_at).date()) <= MEETING_WORKDAYS:
            counted[account_id].append(True)
        elif working_days_after(ended, today) > MEETING_WORKDAYS:
            counted[account_id].append(False)
    return {account_id: share(sum(each), len(each)) for account_id, each in counted.items()}


async def who_logs(
    session: AsyncSession, ids: list[int], since: dt.datetime, until: dt.datetime
) -> dict[int, list[tuple[str, str, int]]]:
    """(name, function, count) of the contacts and decisions each person logged; someone who left the team counts
    under their name, with no function."""
    logged = union_all(
        *(
            select(model.account_id.label("account_id"), model.logged_by_id.label("person_id")).where(
                model.account_id.in_(ids), model.created_at >= since, model.created_at < until
            )
            for model in (Contact, Decision)
        )
    ).subquery()
    rows = await session.execute(
        select(logged.c.account_id, Person.name, AccountMember.function, func.count())
        .join(Person, Person.id == logged.c.person_id)
        .outerjoin(
            AccountMember,
            and_(AccountMember.account_id == logged.c.account_id, AccountMember.person_id == logged.c.person_id),
        )
        .group_by(logged.c.account_id, Person.id, Person.name, AccountMember.function)
    )
    result: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    for account_id, name, function, count in rows.all():
        result[account_id].append((name, function or "", int(count)))
    return result


def tally(entries: Iterable[tuple[str, int]]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for key, count in entries:
        totals[key] += count
    return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))


# -- relationships ---------------------------------------------------------------------------------------------------


async def who_met_whom(
    session: AsyncSession, ids: list[int], today: dt.date, until: dt.datetime
) -> tuple[dict[int, dict[int, int]], dict[int, str]]:
    """Per account: its stakeholders met in the last 90 days, each by one (1) or several (2) of us; and its
    relationship model over the year. The lowest and highest ids tell one from several, without counting distinct."""
    recent = people_who_met(ids, today - dt.timedelta(days=COVERAGE_DAYS), until)
    rows = await session.execute(
        select(
            recent.c.account_id, recent.c.stakeholder_id, func.min(recent.c.person_id), func.max(recent.c.person_id)
        ).group_by(recent.c.account_id, recent.c.stakeholder_id)
    )
    met_by: dict[int, dict[int, int]] = defaultdict(dict)
    for account_id, stakeholder_id, lowest, highest in rows.all():
        met_by[account_id][stakeholder_id] = 1 if lowest == highest else 2
    year = people_who_met(ids, today - dt.timedelta(days=MODEL_DAYS), until)
    sides = await session.execute(
        select(
            year.c.account_id,
            func.min(year.c.person_id),
            func.max(year.c.person_id),
            func.min(year.c.stakeholder_id),
            func.max(year.c.stakeholder_id),
        ).group_by(year.c.account_id)
    )
    # model_of needs only "none, one or several" on each side.
    models: dict[int, str] = {
        account_id: model_of(1 if ours_low == ours_high else 2, 1 if theirs_low == theirs_high else 2)
        for account_id, ours_low, ours_high, theirs_low, theirs_high in sides.all()
    }
    return met_by, models
