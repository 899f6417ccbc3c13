"""Dependency risk (kam.dependency), worked out by hand.

Revenues of 2025: 50, 20, 10, 10, 5, 5 (a total of 100) and a deactivated account's 1,000 (not counted);
the company's total 400.
- top 1: 50 % ; top 5: 95 %; top 10: 100 %
- Herfindahl: 0.5² + 0.2² + 0.1² + 0.1² + 0.05² + 0.05² = 0.25 + 0.04 + 0.01 + 0.01 + 0.0025 + 0.0025 = 0.315
- key accounts' share: 100 / 400 = 25 %
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from kam.dependency import DependencyRisk, crossed, dependency_risk, risk_of
from kam.migrate import upgrade
from kam.models import Account, CompanyFigures, ResultFigures, Tier
from kam.storage import Database

REVENUES = (50.0, 20.0, 10.0, 10.0, 5.0, 5.0)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await asyncio.to_thread(upgrade, database_url)
    database = Database(database_url)
    async with database.transaction() as session:
        accounts = [Account(name=f"Account {i}", tier=Tier.KEY_ACCOUNT) for i in range(len(REVENUES) + 2)]
        accounts[-2].active = False
        session.add_all(accounts)
        await session.flush()
        for account, revenue in zip(accounts, (*REVENUES, 1000.0), strict=False):
            session.add(ResultFigures(account_id=account.id, year=2025, revenue=revenue))
        # The last account has figures without revenue, and another year's revenue.
        session.add(ResultFigures(account_id=accounts[-1].id, year=2025, potential=99.0))
        session.add(ResultFigures(account_id=accounts[-1].id, year=2024, revenue=99.0))
        session.add(CompanyFigures(year=2025, revenue=400.0))
    yield database
    await database.close()


async def test_the_shares_and_the_herfindahl_index_are_the_ones_worked_out_by_hand(db: Database) -> None:
    async with db.transaction() as session:
        risk = await dependency_risk(session, 2025)

    assert risk.year == 2025
    assert risk.top1_share == pytest.approx(0.5)
    assert risk.top5_share == pytest.approx(0.95)
    assert risk.top10_share == pytest.approx(1.0)
    assert risk.herfindahl == pytest.approx(0.315)
    assert risk.key_account_share == pytest.approx(0.25)


async def test_a_year_without_revenue_has_no_figures(db: Database) -> None:
    async with db.transaction() as session:
        assert await dependency_risk(session, 2023) == DependencyRisk(2023, None, None, None, None, None)
        without_total = await dependency_risk(session, 2024)
    assert without_total.top1_share == 1.0 and without_total.herfindahl == 1.0
    assert without_total.key_account_share is None


def test_one_account_is_all_the_risk_and_many_equal_ones_little() -> None:
    one = risk_of(2025, [300.0], 300.0)
    assert (one.top1_share, one.herfindahl, one.key_account_share) == (1.0, 1.0, 1.0)
    spread = risk_of(2025, [1.0] * 100, None)
    assert spread.top10_share == pytest.approx(0.1) and spread.herfindahl == pytest.approx(0.01)
    assert risk_of(2025, [0.0, 0.0], 10.0) == DependencyRisk(2025, None, None, None, None, None)


def test_crossed_names_each_figure_beyond_its_threshold() -> None:
    risk = risk_of(2025, list(REVENUES), 400.0)
    thresholds = {"top1_share": 0.4, "top5_share": 0.95, "herfindahl": 0.3, "key_account_share_min": 0.3}
    assert crossed(risk, thresholds) == ["top1_share", "herfindahl", "key_account_share"]
    assert crossed(risk, {"top1_share": 0.5, "key_account_share_min": 0.25}) == []
    assert crossed(risk, {}) == []
    assert crossed(risk_of(2025, [], None), thresholds) == []
