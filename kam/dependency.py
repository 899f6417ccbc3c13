"""Dependency risk: how much of the revenue hangs on few accounts (KAM.md: too much dependence on few accounts
is a risk; watch the mix of key accounts and other customers).

Over the active accounts with a revenue for the year (kam.results): the share of the
largest 1, 5 and 10, the Herfindahl index (the sum of the squared shares: 1 when one
account brings everything, near 0 when revenue is spread), and the key accounts' share of
the company's total. The admins set a threshold for each (kam.selection, `dependency:`);
`crossed` names the figures beyond theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import Account, CompanyFigures, ResultFigures

CEILINGS = ("top1_share", "top5_share", "top10_share", "herfindahl")
FLOOR = "key_account_share_min"  # the key accounts' share of revenue should not fall below it


@dataclass(frozen=True)
class DependencyRisk:
    year: int
    top1_share: float | None
    top5_share: float | None
    top10_share: float | None
    herfindahl: float | None
    key_account_share: float | None


def risk_of(year: int, revenues: list[float], company_total: float | None) -> DependencyRisk:
    """The figures from the accounts' revenues and the company's total (None: not known)."""
    revenues = sorted((r for r in revenues if r > 0), reverse=True)
    total = sum(revenues)
    if total <= 0:
        return DependencyRisk(year, None, None, None, None, None)
    shares = [revenue / total for revenue in revenues]
    return DependencyRisk(
        year=year,
        top1_share=sum(shares[:1]),
        top5_share=sum(shares[:5]),
        top10_share=sum(shares[:10]),
        herfindahl=sum(share * share for share in shares),
        key_account_share=total / company_total if company_total else None,
    )


async def dependency_risk(session: AsyncSession, year: int) -> DependencyRisk:
    """The dependency figures of `year`, over the active accounts (two statements)."""
    revenues = await session.scalars(
        select(ResultFigures.revenue)
        .join(Account, Account.id == ResultFigures.account_id)
        .where(ResultFigures.year == year, Account.active.is_(True), ResultFigures.revenue.is_not(None))
    )
    company_total = await session.scalar(select(CompanyFigures.revenue).where(CompanyFigures.year == year))
    return risk_of(year, [float(r) for r in revenues if r is not None], company_total)


def crossed(risk: DependencyRisk, thresholds: Mapping[str, float]) -> list[str]:
    """The names of the figures beyond their threshold: over it for top1_share, top5_share, top10_share and
    herfindahl; under `key_account_share_min` for key_account_share. A figure without a value or a threshold is
    never beyond it."""
    names = []
    for name in CEILINGS:
        value = getattr(risk, name)
        limit = thresholds.get(name)
        if value is not None and limit is not None and value > limit:
            names.append(name)
    floor = thresholds.get(FLOOR)
    if risk.key_account_share is not None and floor is not None and risk.key_account_share < floor:
        names.append("key_account_share")
    return names
