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

The figures of complete days come from kam.kpi_windows, the plan's from kam.kpi_plan; this
module puts them together per account. Windows end at the start of `today` (UTC) and count
only what happened before it: those figures stay the same all day, so `KpiCache` computes
them once a day (the plan, reviews, conflicts, results and stakeholder map are read anew).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.access import KpiScope
from kam.kpi_plan import (
    YEAR_DAYS,
    Conflicts,
    conflicts_of,
    newest_plans,
    plan_counts,
    revenue_target,
    reviews_closed,
    reviews_on_time,
    whitespace_progress,
)
from kam.kpi_windows import (
    FLOW_DAYS,
    acknowledged_in_time,
    acknowledgements_in_time,
    day_start,
    meetings_logged,
    month_of,
    post_minutes,
    share,
    tally,
    who_logs,
    who_met_whom,
)
from kam.models import (
    Account,
    Acknowledgement,
    BuyingRole,
    Contact,
    Decision,
    ResultFigures,
    Stakeholder,
    StakeholderLevel,
    aware,
    contact_participants,
    contact_stakeholders,
)
from kam.stakeholders import model_of

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
    conflicts_open: int = 0  # of those caught, neither dismissed nor ended yet
    whitespace: float | None = None  # the grid's progress (kam.whitespace.progress_of), None without a grid


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
    # The relationship model of the month's contacts that name a stakeholder (kam.stakeholders.model_of): how
    # many of ours met how many of theirs; None in a month without such a contact.
    model: str | None = None


def within_scope(kpis: AccountKpis, scope: KpiScope) -> AccountKpis:
    """What someone with `scope` (kam.access.kpi_scope) may see of an account's figures."""
    if scope == KpiScope.ALL:
        return kpis
    return replace(kpis, relationships=None, plan=None, results=None)


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
        decision_makers_met_90d=share(sum(1 for s in deciders if met_by.get(s)), len(deciders)),
        executives_met_90d=share(sum(1 for s in executives if met_by.get(s)), len(executives)),
        model=None if model == "none" else model,
        met_by_one_of_us=sum(1 for s, _, _ in people if met_by.get(s) == 1),
    )


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
    posts = await post_minutes(session, ids, since, until)
    acks = await acknowledged_in_time(session, ids, since, until)
    meetings = await meetings_logged(session, ids, since, until)
    loggers = await who_logs(session, ids, since, until)
    met_by, models = await who_met_whom(session, ids, today, until)
    days = {}
    for account_id in ids:
        median_minutes, p90_minutes = posts.get(account_id, (None, None))
        logged = loggers.get(account_id, [])
        flow = FlowKpis(
            post_minutes_median=median_minutes,
            post_minutes_p90=p90_minutes,
            acknowledged_within_24h=acks.get(account_id),
            meetings_logged_within_2_workdays=meetings.get(account_id),
            logged_by_member=tally((name, count) for name, _, count in logged),
            logged_by_function=tally((function, count) for _, function, count in logged),
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
            if self._day != today:  # the day turned while reading: nothing of it is kept, all is read for `today`
                return await _trend(session, ids, today, months)
            self._trends.update({(account_id, months): points for account_id, points in found.items()})
        return {a: self._trends[(a, months)] for a in ids if (a, months) in self._trends}

    async def complete_days(self, session: AsyncSession, ids: list[int], today: dt.date) -> dict[int, _CompleteDays]:
        self._on(today)
        missing = [account_id for account_id in ids if account_id not in self._figures]
        if missing:
            found = await _complete_days(session, missing, today)
            if self._day != today:  # the day turned while reading: nothing of it is kept, all is read for `today`
                return await _complete_days(session, ids, today)
            self._figures.update(found)
        return {account_id: self._figures[account_id] for account_id in ids}

    def holds(self, account_ids: Sequence[int], today: dt.date) -> bool:
        """Whether the figures of complete days of all `account_ids` are at hand for `today`."""
        return self._day == today and all(account_id in self._figures for account_id in account_ids)

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
    plans = await newest_plans(session, ids)
    reviews = await reviews_closed(session, ids, year_ago)
    conflicts = await conflicts_of(session, ids, year_ago, until)
    results = await _results(session, ids, today.year)
    kpis = {}
    for account_id, tier, created_at in accounts:
        day = days[account_id]
        content = plans.get(account_id, {})
        conflict = conflicts.get(account_id, Conflicts(0, 0, None))
        plan = PlanKpis(
            **plan_counts(content, today),
            reviews_on_time=reviews_on_time(tier, aware(created_at).date(), reviews.get(account_id, []), today),
            conflicts_caught=conflict.caught,
            conflicts_dismissed=conflict.dismissed,
            conflict_days_open_median=conflict.days_open_median,
            conflicts_open=conflict.still_open,
            whitespace=whitespace_progress(content),
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
        month = month_of(session, model.created_at)
        rows = await session.execute(
            select(model.account_id, month, func.count())
            .where(model.account_id.in_(ids), model.created_at >= first, model.created_at < until)
            .group_by(model.account_id, month)
        )
        for account_id, label, count in rows.all():
            counts[(account_id, name, label)] = int(count)
    month = month_of(session, Acknowledgement.created_at)
    ack_rows = await session.execute(acknowledgements_in_time(session, ids, first, until, month))
    acks = {(account_id, label): share(int(good or 0), int(asked)) for account_id, label, asked, good in ack_rows.all()}
    models = await _models_by_month(session, ids, first, until)
    known = set((await session.scalars(select(Account.id).where(Account.id.in_(ids)))).all())
    return {
        account_id: [
            MonthPoint(
                label,
                counts.get((account_id, "contacts", label), 0),
                counts.get((account_id, "decisions", label), 0),
                acks.get((account_id, label)),
                models.get((account_id, label)),
            )
            for label in labels
        ]
        for account_id in ids
        if account_id in known
    }


async def _models_by_month(
    session: AsyncSession, ids: list[int], first: dt.datetime, until: dt.datetime
) -> dict[tuple[int, str], str]:
    """The relationship model of each account and month (three statements): of the contacts naming a stakeholder,
    how many of theirs were met, by how many of ours (whoever logged it and our participants)."""
    month = month_of(session, Contact.created_at)
    met = (
        select(Contact.id)
        .join(contact_stakeholders, contact_stakeholders.c.contact_id == Contact.id)
        .where(Contact.account_id.in_(ids), Contact.created_at >= first, Contact.created_at < until)
    )
    theirs: dict[tuple[int, str], set[int]] = {}
    rows = await session.execute(
        select(Contact.account_id, month, contact_stakeholders.c.stakeholder_id)
        .join(contact_stakeholders, contact_stakeholders.c.contact_id == Contact.id)
        .where(Contact.id.in_(met))
        .distinct()
    )
    for account_id, label, stakeholder_id in rows.all():
        theirs.setdefault((account_id, label), set()).add(stakeholder_id)
    ours: dict[tuple[int, str], set[int]] = {}
    for query in (
        select(Contact.account_id, month, Contact.logged_by_id).where(Contact.id.in_(met)).distinct(),
        select(Contact.account_id, month, contact_participants.c.person_id)
        .join(contact_participants, contact_participants.c.contact_id == Contact.id)
        .where(Contact.id.in_(met))
        .distinct(),
    ):
        for account_id, label, person_id in (await session.execute(query)).all():
            ours.setdefault((account_id, label), set()).add(person_id)
    return {key: model_of(len(ours.get(key, set())), len(people)) for key, people in theirs.items()}


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
