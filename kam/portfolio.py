"""The portfolio: every account someone may see there (kam.access.portfolio_accounts) with its KPIs, plan
status and trend, sorted and filtered as asked; and the same rows for the .xlsx export.

A fixed number of SQL statements whatever the number of accounts (bench/portfolio.py asserts it): the
accounts with their teams, then kam.kpis, the plans' dates and the health scores for all of them at once (the
score of the day as kam.health.record_health stored it, computed for the accounts without one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.access import KpiScope, Principal, kpi_scope, portfolio_accounts
from kam.health import Health, HealthSettings, todays_health, visible_health
from kam.kpis import AccountKpis, KpiCache, MonthPoint, kpis_for, monthly_trend, within_scope
from kam.models import Account, PlanVersion, ResultFigures, Role, Tier

Score = Callable[[Mapping[str, float] | None], float | None]  # kam.selection.Selection.score
SCORE_TOP = 5.0  # criteria and the selection score run from 0 to 5


@dataclass(frozen=True)
class PortfolioRow:
    account: Account
    managers: tuple[str, ...]
    kpis: AccountKpis
    trend: list[MonthPoint]
    plan_saved_on: dt.date | None
    attractiveness: float | None  # the selection score, 0..5
    position: float | None  # our position with the customer: share of wallet, else potential exploited (0..1)
    health: Health | None = None


# What the page sorts by; each is a value of a row (None sorts last, whichever the direction).
SORTS: dict[str, Callable[[PortfolioRow], object]] = {
    "name": lambda r: r.account.name.casefold(),
    "tier": lambda r: list(Tier).index(r.account.tier),
    "manager": lambda r: ", ".join(r.managers).casefold() or None,
    "post_minutes": lambda r: r.kpis.flow.post_minutes_median,
    "acknowledged": lambda r: r.kpis.flow.acknowledged_within_24h,
    "decision_makers": lambda r: r.kpis.relationships.decision_makers_met_90d if r.kpis.relationships else None,
    "actions_late": lambda r: r.kpis.plan.actions_late if r.kpis.plan else None,
    "revenue": lambda r: r.kpis.results.revenue if r.kpis.results else None,
    "attractiveness": lambda r: r.attractiveness,
    "health": lambda r: r.health.score if r.health else None,
}


@dataclass(frozen=True)
class PortfolioQuery:
    """The page's sorting and filters, read strictly from its query parameters (anything else: the default)."""

    sort: str = "name"
    descending: bool = False
    tier: Tier | None = None
    text: str = ""
    late_only: bool = False
    health_below: int | None = None  # only accounts whose health score is below this (1..100)

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> PortfolioQuery:
        sort = query.get("sort", "name")
        tier = query.get("tier", "")
        below = query.get("health_below", "")
        return cls(
            sort=sort if sort in SORTS else "name",
            descending=query.get("order") == "desc",
            tier=Tier(tier) if tier in {t.value for t in Tier} else None,
            text=query.get("q", "").strip()[:100],
            late_only=query.get("late") == "1",
            health_below=int(below) if below.isascii() and below.isdigit() and 1 <= int(below) <= 100 else None,
        )


def _position(kpis: AccountKpis) -> float | None:
    results = kpis.results
    if results is None:
        return None
    return results.share_of_wallet if results.share_of_wallet is not None else results.potential_exploited


def _managers(account: Account) -> tuple[str, ...]:
    return tuple(sorted(m.person.name for m in account.members if m.role == Role.MANAGER))


async def _plans_saved(session: AsyncSession, account_ids: Sequence[int]) -> dict[int, dt.date]:
    query = (
        select(PlanVersion.account_id, func.max(PlanVersion.saved_at))
        .where(PlanVersion.account_id.in_(account_ids))
        .group_by(PlanVersion.account_id)
    )
    return {account_id: saved.date() for account_id, saved in (await session.execute(query)).all() if saved}


async def latest_results_year(session: AsyncSession, today: dt.date) -> int:
    """The newest year with results figures (the portfolio's dependency risk), else this year."""
    year = await session.scalar(select(func.max(ResultFigures.year)).where(ResultFigures.year <= today.year))
    return int(year) if year is not None else today.year


async def portfolio_rows(
    session: AsyncSession,
    principal: Principal,
    today: dt.date,
    score: Score,
    cache: KpiCache | None = None,
    health: HealthSettings | None = None,
) -> list[PortfolioRow]:
    """Every active account the principal's portfolio holds, each with what the policy lets them see of it."""
    everything = (await session.scalars(select(Account).where(Account.active.is_(True)))).all()
    accounts = portfolio_accounts(everything, principal)
    ids = [a.id for a in accounts]
    kpis = await kpis_for(session, ids, today, cache)
    trends = await monthly_trend(session, ids, today, cache=cache)
    saved = await _plans_saved(session, ids)
    healths = await todays_health(session, kpis, today, health)
    rows = []
    for account in accounts:
        scope = kpi_scope(principal, account) or KpiScope.FLOW
        seen = within_scope(kpis[account.id], scope)
        rows.append(
            PortfolioRow(
                account=account,
                managers=_managers(account),
                kpis=seen,
                trend=trends.get(account.id, []),
                plan_saved_on=saved.get(account.id),
                attractiveness=score(account.scores),
                position=_position(seen),
                health=visible_health(healths[account.id], scope),
            )
        )
    return rows


def is_late(row: PortfolioRow) -> bool:
    plan = row.kpis.plan
    return plan is not None and (plan.actions_late > 0 or plan.objectives_late > 0)


def _health_below(row: PortfolioRow, limit: int) -> bool:
    score = row.health.score if row.health else None
    return score is not None and score < limit


def chosen(rows: Sequence[PortfolioRow], query: PortfolioQuery) -> list[PortfolioRow]:
    """The rows the filters keep, in the order asked; rows without the figure sorted by come last."""
    text = query.text.casefold()
    kept = [
        r
        for r in rows
        if (query.tier is None or r.account.tier == query.tier)
        and (not text or text in r.account.name.casefold() or any(text in m.casefold() for m in r.managers))
        and (not query.late_only or is_late(r))
        and (query.health_below is None or _health_below(r, query.health_below))
    ]
    key = SORTS[query.sort]
    known = [r for r in kept if key(r) is not None]
    unknown = [r for r in kept if key(r) is None]
    known.sort(key=lambda r: (key(r), r.account.name.casefold()), reverse=query.descending)
    return known + unknown
