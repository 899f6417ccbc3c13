"""The steering figures (KPIs) of key account management, from what kambot already stores (docs/kpis.md).

KAM.md: the figures cover the results (revenue, margin, potential exploited,
share of wallet) and the work itself: how fast information reaches the team,
whether the people who must know acknowledge it, whether meetings are logged,
who covers the customer's decision makers, whether the plan is kept and reviewed
on time, and how many conflicts the checks caught.

`kpis_for` asks the database the same, fixed number of statements for one account
or five hundred: every query groups by account, none runs per account (the
portfolio page depends on it; bench/portfolio.py asserts it). Figures are counts,
shares and times only: they never carry what a contact or decision said, so a
confidential item counts like any other. A share with nothing to divide by is
None (no figure), never 0.

Windows end at the start of `today` (UTC), and count only what happened before it: the
figures of complete days stay the same all day, so `KpiCache` computes them once a day
(the plan, reviews, conflicts, results and stakeholder map are read anew each time).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from statistics import median
from typing import Any

from sqlalchemy import ColumnElement, DateTime, Float, and_, case, cast, extract, func, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from kam.access import KpiScope
from kam.checks import CONFLICT_KINDS
from kam.models import (
    Account,
    AccountMember,
    Acknowledgement,
    BuyingRole,
    Contact,
    Decision,
    Flag,
    MeetingNudge,
    OutboxMessage,
    OutboxStatus,
    Person,
    PlanVersion,
    ResultFigures,
    Review,
    Stakeholder,
    StakeholderLevel,
    Tier,
    aware,
    contact_participants,
    contact_stakeholders,
)
from kam.outbox import OutboxKind
from kam.plans import ItemStatus, PlanItemKind
from kam.results import parse_amount
from kam.reviews import CADENCE_DAYS
from kam.stakeholders import COVERAGE_DAYS, MODEL_DAYS, model_of

FLOW_DAYS = 90
ACK_WITHIN = dt.timedelta(hours=24)
MEETING_WORKDAYS = 2
MEETING_REACH = dt.timedelta(days=2)  # how long before the window a meeting that ends in it can have started
YEAR_DAYS = 365
TREND_MONTHS = 12
EXECUTIVE_LEVELS = (StakeholderLevel.EXECUTIVE, StakeholderLevel.MANAGEMENT)


@dataclass(frozen=True)
class FlowKpis:
    post_minutes_median: float | None
    post_minutes_p90: float | None
    acknowledged_within_24h: float | None
    meetings_logged_within_2_workdays: float | None
    logged_by_member: dict[str, int]
    logged_by_function: dict[str, int]


@dataclass(frozen=True)
class RelationshipKpis:
    decision_makers_met_90d: float | None
    executives_met_90d: float | None
    model: str | None
    met_by_one_of_us: int


@dataclass(frozen=True)
class PlanKpis:
    objectives: int
    objectives_done: int
    objectives_late: int
    actions: int
    actions_done: int
    actions_late: int
    reviews_on_time: float | None
    conflicts_caught: int
    conflicts_dismissed: int
    conflict_days_open_median: float | None


@dataclass(frozen=True)
class ResultKpis:
    year: int
    revenue: float | None
    margin: float | None
    potential: float | None
    share_of_wallet: float | None
    potential_exploited: float | None
    revenue_target: float | None


@dataclass(frozen=True)
class AccountKpis:
    account_id: int
    flow: FlowKpis
    relationships: RelationshipKpis | None
    plan: PlanKpis | None
    results: ResultKpis | None


@dataclass(frozen=True)
class MonthPoint:
    month: str
    contacts: int
    decisions: int
    acknowledged_within_24h: float | None


def within_scope(kpis: AccountKpis, scope: KpiScope) -> AccountKpis:
    """What someone with `scope` (kam.access.kpi_scope) may see of an account's figures."""
    if scope == KpiScope.ALL:
        return kpis
    return replace(kpis, relationships=None, plan=None, results=None)


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


def _share(part: int, whole: int) -> float | None:
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


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _seconds_between(session: AsyncSession, later: Any, earlier: Any) -> ColumnElement[float]:
    """`later - earlier` in seconds, in SQL, on both databases."""
    if _is_postgres(session):
        return cast(extract("epoch", later - earlier), Float)
    # Rounded to the millisecond: julianday's doubles would put exactly 24 h a few microseconds over.
    return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3)


def _month_of(session: AsyncSession, moment: Any) -> ColumnElement[str]:
    if _is_postgres(session):
        return func.to_char(func.timezone("UTC", moment), "YYYY-MM")
    return func.strftime("%Y-%m", moment)


# -- information flow ------------------------------------------------------------------------------------------------


async def _post_minutes(
    session: AsyncSession, ids: list[int], since: dt.datetime, until: dt.datetime
) -> dict[int, tuple[float | None, float | None]]:
    """Median and p90 of the minutes from an item logged to its channel post delivered, per account."""
    posted = []
    for model, kind in ((Contact, OutboxKind.CONTACT_LOGGED), (Decision, OutboxKind.DECISION_LOGGED)):
        posted.append(
            select(
                model.account_id.label("account_id"),
                _seconds_between(session, OutboxMessage.sent_at, model.created_at).label("seconds"),
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
    if _is_postgres(session):
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


async def _acknowledged_in_time(
    session: AsyncSession, ids: list[int], since: dt.datetime, until: dt.datetime
) -> dict[int, float | None]:
    """Share of required acknowledgements asked in the window and given within 24 h. One asked less than 24 h
    before the window ends and not yet given is still undecided: left out."""
    waited = _seconds_between(session, Acknowledgement.acknowledged_at, Acknowledgement.created_at)
    in_time = and_(Acknowledgement.acknowledged_at < until, waited <= ACK_WITHIN.total_seconds())
    decided = (Acknowledgement.created_at <= until - ACK_WITHIN) | in_time
    rows = await session.execute(
        select(Acknowledgement.account_id, func.count(), func.sum(case((in_time, 1), else_=0)))
        .where(
            Acknowledgement.account_id.in_(ids),
            Acknowledgement.required.is_(True),
            Acknowledgement.created_at >= since,
            Acknowledgement.created_at < until,
            decided,
        )
        .group_by(Acknowledgement.account_id)
    )
    return {account_id: _share(int(good or 0), int(asked)) for account_id, asked, good in rows.all()}


async def _meetings_logged(
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
    return {account_id: _share(sum(each), len(each)) for account_id, each in counted.items()}


async def _who_logs(
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


def _tally(entries: Iterable[tuple[str, int]]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for key, count in entries:
        totals[key] += count
    return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))


# -- relationships ---------------------------------------------------------------------------------------------------


def _people_who_met(ids: list[int], since: dt.date, until: dt.datetime) -> Any:
    """(account, stakeholder, our person) for every contact met since `since` and logged before `until` that names a
    stakeholder: its author and our participants."""
    authors = (
        select(
            Contact.account_id.label("account_id"),
            contact_stakeholders.c.stakeholder_id.label("stakeholder_id"),
            Contact.logged_by_id.label("person_id"),
        )
        .join(contact_stakeholders, contact_stakeholders.c.contact_id == Contact.id)
        .where(Contact.account_id.in_(ids), Contact.met_on >= since, Contact.created_at < until)
    )
    participants = (
        select(Contact.account_id, contact_stakeholders.c.stakeholder_id, contact_participants.c.person_id)
        .join(contact_stakeholders, contact_stakeholders.c.contact_id == Contact.id)
        .join(contact_participants, contact_participants.c.contact_id == Contact.id)
        .where(Contact.account_id.in_(ids), Contact.met_on >= since, Contact.created_at < until)
    )
    return union_all(authors, participants).subquery()


async def _who_met_whom(
    session: AsyncSession, ids: list[int], today: dt.date, until: dt.datetime
) -> tuple[dict[int, dict[int, int]], dict[int, str]]:
    """Per account: its stakeholders met in the last 90 days, each by one (1) or several (2) of us; and its
    relationship model over the year. The lowest and highest ids tell one from several, without counting distinct."""
    recent = _people_who_met(ids, today - dt.timedelta(days=COVERAGE_DAYS), until)
    rows = await session.execute(
        select(
            recent.c.account_id, recent.c.stakeholder_id, func.min(recent.c.person_id), func.max(recent.c.person_id)
        ).group_by(recent.c.account_id, recent.c.stakeholder_id)
    )
    met_by: dict[int, dict[int, int]] = defaultdict(dict)
    for account_id, stakeholder_id, lowest, highest in rows.all():
        met_by[account_id][stakeholder_id] = 1 if lowest == highest else 2
    year = _people_who_met(ids, today - dt.timedelta(days=MODEL_DAYS), until)
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


async def _stakeholders(
    session: AsyncSession, ids: list[int]
) -> dict[int, list[tuple[int, BuyingRole | None, StakeholderLevel | None]]]:
    rows = await session.execute(
        select(Stakeholder.id, Stakeholder.account_id, Stakeholder.buying_role, Stakeholder.level).where(
            Stakeholder.account_id.in_(ids)
        )
    )
    by_account: dict[int, list[tuple[int, BuyingRole | None, StakeholderLevel | None]]] = defaultdict(list)
    for stakeholder_id, account_id, buying_role, level in rows.all():
        by_account[account_id].append((stakeholder_id, buying_role, level))
    return by_account


def _relationship_kpis(
    people: list[tuple[int, BuyingRole | None, StakeholderLevel | None]], met_by: dict[int, int], model: str
) -> RelationshipKpis:
    deciders = [s for s, role, _ in people if role == BuyingRole.DECISION_MAKER]
    executives = [s for s, _, level in people if level in EXECUTIVE_LEVELS]
    return RelationshipKpis(
        decision_makers_met_90d=_share(sum(1 for s in deciders if met_by.get(s)), len(deciders)),
        executives_met_90d=_share(sum(1 for s in executives if met_by.get(s)), len(executives)),
        model=None if model == "none" else model,
        met_by_one_of_us=sum(1 for s, _, _ in people if met_by.get(s) == 1),
    )


# -- the plan --------------------------------------------------------------------------------------------------------

TARGET = re.compile(
    r"(?:revenue\s+target|target\s+revenue|umsatzziel|ziel\s*umsatz)(?:\s*(?:for|für|in)?\s*20\d\d\b)?"
    r"\D{0,20}?(\d[\d.,' ]*\d|\d)\s*(k|m|mio|tsd)?\b",
    re.IGNORECASE,
)
MULTIPLIERS = {"k": 1e3, "tsd": 1e3, "m": 1e6, "mio": 1e6}


def revenue_target(sections: dict[str, Any]) -> float | None:
    """The revenue target the plan's "potential and targets" states ("Revenue target: 1.2 m", "Umsatzziel
    1.200.000"), or None when it names none."""
    text = sections.get("potential_targets")
    if not isinstance(text, str):
        return None
    found = TARGET.search(text)
    if found is None:
        return None
    amount = parse_amount(found.group(1))
    if amount is None:
        return None
    return amount * MULTIPLIERS.get((found.group(2) or "").lower(), 1.0)


def _plan_counts(content: dict[str, Any], today: dt.date) -> dict[str, int]:
    counts = dict.fromkeys(
        ("objectives", "objectives_done", "objectives_late", "actions", "actions_done", "actions_late"), 0
    )
    for item in content.get("items") or []:
        prefix = "objectives" if item.get("kind") == PlanItemKind.OBJECTIVE else "actions"
        counts[prefix] += 1
        done = item.get("status") == ItemStatus.DONE
        due = item.get("due_on")
        if done:
            counts[f"{prefix}_done"] += 1
        elif due and dt.date.fromisoformat(str(due)) < today:
            counts[f"{prefix}_late"] += 1
    return counts


def reviews_on_time(tier: Tier, created: dt.date, closed: Iterable[dt.date], today: dt.date) -> float | None:
    """Share of the tier's review periods of the last 12 months (counted back from today) with a review closed in
    them; only periods that began once the account existed count."""
    every = CADENCE_DAYS[tier]
    held = sorted(closed)
    periods = 0
    kept = 0
    for index in range(YEAR_DAYS // every):
        end = today - dt.timedelta(days=every * index)
        start = end - dt.timedelta(days=every)
        if start < created:
            break
        periods += 1
        kept += any(start <= day < end for day in held)
    return _share(kept, periods)


async def _plans(session: AsyncSession, ids: list[int]) -> dict[int, dict[str, Any]]:
    newest = (
        select(PlanVersion.account_id, func.max(PlanVersion.version).label("version"))
        .where(PlanVersion.account_id.in_(ids))
        .group_by(PlanVersion.account_id)
        .subquery()
    )
    rows = await session.execute(
        select(PlanVersion.account_id, PlanVersion.content).join(
            newest, and_(newest.c.account_id == PlanVersion.account_id, newest.c.version == PlanVersion.version)
        )
    )
    return {account_id: content or {} for account_id, content in rows.all()}


async def _reviews_closed(session: AsyncSession, ids: list[int], since: dt.datetime) -> dict[int, list[dt.date]]:
    rows = await session.execute(
        select(Review.account_id, Review.closed_at).where(
            Review.account_id.in_(ids), Review.closed_at.is_not(None), Review.closed_at >= since
        )
    )
    closed: dict[int, list[dt.date]] = defaultdict(list)
    for account_id, closed_at in rows.all():
        if closed_at is not None:
            closed[account_id].append(aware(closed_at).date())
    return closed


@dataclass(frozen=True)
class _Conflicts:
    caught: int
    dismissed: int
    days_open_median: float | None


async def _conflicts(
    session: AsyncSession, ids: list[int], since: dt.datetime, until: dt.datetime
) -> dict[int, _Conflicts]:
    """Conflicts flagged in the window; one is closed when marked "not a conflict", or (two framework agreements)
    when the earlier agreement ended."""
    earlier = aliased(Flag)
    rows = await session.execute(
        select(Flag.account_id, Flag.kind, Flag.created_at, Flag.closed_at, Flag.dismissed_at, earlier.closed_at)
        .outerjoin(earlier, earlier.id == Flag.related_id)
        .where(
            Flag.account_id.in_(ids),
            Flag.kind.in_(CONFLICT_KINDS),
            Flag.created_at >= since,
            Flag.created_at < until,
        )
    )
    caught: dict[int, int] = defaultdict(int)
    dismissed: dict[int, int] = defaultdict(int)
    days_open: dict[int, list[float]] = defaultdict(list)
    for account_id, kind, created_at, closed_at, dismissed_at, agreement_ended in rows.all():
        caught[account_id] += 1
        dismissed[account_id] += dismissed_at is not None
        ends = [closed_at, dismissed_at, agreement_ended if kind == "parallel_framework" else None]
        moments = [aware(moment) for moment in ends if moment is not None]
        if moments:
            days_open[account_id].append(max((min(moments) - aware(created_at)).total_seconds(), 0.0) / 86400.0)
    return {
        account_id: _Conflicts(
            caught[account_id],
            dismissed[account_id],
            round(median(days_open[account_id]), 2) if days_open[account_id] else None,
        )
        for account_id in caught
    }


# -- results ---------------------------------------------------------------------------------------------------------


async def _results(session: AsyncSession, ids: list[int], year: int) -> dict[int, ResultFigures]:
    """Each account's figures of the latest year up to `year`."""
    rows = await session.scalars(
        select(ResultFigures).where(ResultFigures.account_id.in_(ids), ResultFigures.year <= year)
    )
    latest: dict[int, ResultFigures] = {}
    for row in rows:
        if row.account_id not in latest or row.year > latest[row.account_id].year:
            latest[row.account_id] = row
    return latest


def result_kpis(figures: ResultFigures | None, year: int, target: float | None) -> ResultKpis:
    if figures is None:
        return ResultKpis(year, None, None, None, None, None, target)
    exploited = figures.revenue / figures.potential if figures.revenue is not None and figures.potential else None
    return ResultKpis(
        figures.year,
        figures.revenue,
        figures.margin,
        figures.potential,
        figures.share_of_wallet,
        exploited,
        target,
    )


# -- all together ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CompleteDays:
    """An account's figures that only days before today make: the same all day long."""

    flow: FlowKpis
    met_by: dict[int, int]
    model: str


async def _complete_days(session: AsyncSession, ids: list[int], today: dt.date) -> dict[int, _CompleteDays]:
    """The figures of the windows that end at the start of today, for each of `ids` (six statements)."""
    until = day_start(today)
    since = until - dt.timedelta(days=FLOW_DAYS)
    posts = await _post_minutes(session, ids, since, until)
    acks = await _acknowledged_in_time(session, ids, since, until)
    meetings = await _meetings_logged(session, ids, since, until)
    loggers = await _who_logs(session, ids, since, until)
    met_by, models = await _who_met_whom(session, ids, today, until)
    days = {}
    for account_id in ids:
        median_minutes, p90_minutes = posts.get(account_id, (None, None))
        logged = loggers.get(account_id, [])
        flow = FlowKpis(
            post_minutes_median=median_minutes,
            post_minutes_p90=p90_minutes,
            acknowledged_within_24h=acks.get(account_id),
            meetings_logged_within_2_workdays=meetings.get(account_id),
            logged_by_member=_tally((name, count) for name, _, count in logged),
            logged_by_function=_tally((function, count) for _, function, count in logged),
        )
        days[account_id] = _CompleteDays(flow, met_by.get(account_id, {}), models.get(account_id, "none"))
    return days


class KpiCache:
    """The figures of complete days, computed once a day per account and process.

    The flow and coverage figures read every contact, decision and acknowledgement of the last 90 days (the
    relationship model those of a year): seconds for a large portfolio. Their windows end at the start of today
    and count only what happened before it, so they stay the same all day; the plan, its reviews, the conflicts,
    the results and the stakeholder map are read anew on every call. The monthly trend is kept the same way.
    `warm` fills the cache ahead of the first page of the day."""

    def __init__(self) -> None:
        self._day: dt.date | None = None
        self._figures: dict[int, _CompleteDays] = {}
        self._trends: dict[tuple[int, int], list[MonthPoint]] = {}

    def _on(self, today: dt.date) -> None:
        if today != self._day:
            self._day, self._figures, self._trends = today, {}, {}

    async def trend(
        self, session: AsyncSession, ids: list[int], today: dt.date, months: int
    ) -> dict[int, list[MonthPoint]]:
        self._on(today)
        missing = [account_id for account_id in ids if (account_id, months) not in self._trends]
        if missing:
            found = await _trend(session, missing, today, months)
            self._trends.update({(account_id, months): points for account_id, points in found.items()})
        return {a: self._trends[(a, months)] for a in ids if (a, months) in self._trends}

    async def complete_days(self, session: AsyncSession, ids: list[int], today: dt.date) -> dict[int, _CompleteDays]:
        self._on(today)
        missing = [account_id for account_id in ids if account_id not in self._figures]
        if missing:
            self._figures.update(await _complete_days(session, missing, today))
        return {account_id: self._figures[account_id] for account_id in ids}

    async def warm(self, session: AsyncSession, account_ids: Sequence[int], today: dt.date) -> None:
        ids = sorted(set(account_ids))
        await self.complete_days(session, ids, today)
        await self.trend(session, ids, today, TREND_MONTHS)


async def kpis_for(
    session: AsyncSession, account_ids: Sequence[int], today: dt.date, cache: KpiCache | None = None
) -> dict[int, AccountKpis]:
    """The figures of each account of `account_ids` that exists, all of them (narrow with `within_scope`).

    A FIXED number of SQL statements whatever len(account_ids) (asserted by bench/portfolio.py at 50 and 500):
    twelve, or six when `cache` holds the figures of complete days for all of them."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    until = day_start(today)
    year_ago = until - dt.timedelta(days=YEAR_DAYS)
    accounts = (
        await session.execute(select(Account.id, Account.tier, Account.created_at).where(Account.id.in_(ids)))
    ).all()
    ids = [account_id for account_id, _, _ in accounts]
    if cache is None:
        days = await _complete_days(session, ids, today)
    else:
        days = await cache.complete_days(session, ids, today)
    stakeholders = await _stakeholders(session, ids)
    plans = await _plans(session, ids)
    reviews = await _reviews_closed(session, ids, year_ago)
    conflicts = await _conflicts(session, ids, year_ago, until)
    results = await _results(session, ids, today.year)
    kpis = {}
    for account_id, tier, created_at in accounts:
        day = days[account_id]
        content = plans.get(account_id, {})
        conflict = conflicts.get(account_id, _Conflicts(0, 0, None))
        plan = PlanKpis(
            **_plan_counts(content, today),
            reviews_on_time=reviews_on_time(tier, aware(created_at).date(), reviews.get(account_id, []), today),
            conflicts_caught=conflict.caught,
            conflicts_dismissed=conflict.dismissed,
            conflict_days_open_median=conflict.days_open_median,
        )
        target = revenue_target(content.get("sections") or {})
        kpis[account_id] = AccountKpis(
            account_id=account_id,
            flow=day.flow,
            relationships=_relationship_kpis(stakeholders.get(account_id, []), day.met_by, day.model),
            plan=plan,
            results=result_kpis(results.get(account_id), today.year, target),
        )
    return kpis


def _months_back(today: dt.date, months: int) -> list[str]:
    year, month = today.year, today.month
    labels = []
    for _ in range(months):
        labels.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return labels[::-1]


async def _trend(session: AsyncSession, ids: list[int], today: dt.date, months: int) -> dict[int, list[MonthPoint]]:
    """The trend of complete days for each of `ids` that exists (four statements)."""
    labels = _months_back(today, months)
    first = day_start(dt.date.fromisoformat(f"{labels[0]}-01"))
    until = day_start(today)
    counts: dict[tuple[int, str, str], int] = {}
    for model, name in ((Contact, "contacts"), (Decision, "decisions")):
        month = _month_of(session, model.created_at)
        rows = await session.execute(
            select(model.account_id, month, func.count())
            .where(model.account_id.in_(ids), model.created_at >= first, model.created_at < until)
            .group_by(model.account_id, month)
        )
        for account_id, label, count in rows.all():
            counts[(account_id, name, label)] = int(count)
    waited = _seconds_between(session, Acknowledgement.acknowledged_at, Acknowledgement.created_at)
    in_time = and_(Acknowledgement.acknowledged_at < until, waited <= ACK_WITHIN.total_seconds())
    month = _month_of(session, Acknowledgement.created_at)
    decided = (Acknowledgement.created_at <= until - ACK_WITHIN) | in_time
    ack_rows = await session.execute(
        select(Acknowledgement.account_id, month, func.count(), func.sum(case((in_time, 1), else_=literal(0))))
        .where(
            Acknowledgement.account_id.in_(ids),
            Acknowledgement.required.is_(True),
            Acknowledgement.created_at >= first,
            Acknowledgement.created_at < until,
            decided,
        )
        .group_by(Acknowledgement.account_id, month)
    )
    acks = {
        (account_id, label): _share(int(good or 0), int(asked)) for account_id, label, asked, good in ack_rows.all()
    }
    known = set((await session.scalars(select(Account.id).where(Account.id.in_(ids)))).all())
    return {
        account_id: [
            MonthPoint(
                label,
                counts.get((account_id, "contacts", label), 0),
                counts.get((account_id, "decisions", label), 0),
                acks.get((account_id, label)),
            )
            for label in labels
        ]
        for account_id in ids
        if account_id in known
    }


async def monthly_trend(
    session: AsyncSession, account_ids: Sequence[int], today: dt.date, months: int = 12, cache: KpiCache | None = None
) -> dict[int, list[MonthPoint]]:
    """Per account, the last `months` calendar months up to today's: contacts and decisions logged, and the share
    of required acknowledgements given within 24 h (by the month they were asked); of complete days, like the
    figures. Fixed number of statements too: four, none when `cache` holds them all."""
    ids = sorted(set(account_ids))
    if not ids or months < 1:
        return {}
    if cache is None:
        return await _trend(session, ids, today, months)
    return await cache.trend(session, ids, today, months)
