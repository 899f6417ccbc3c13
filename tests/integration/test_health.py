"""The health score over real rows, on SQLite and PostgreSQL: worked out by hand from the world of test_kpis, stored
once a day, and a drop told to the KA manager once, with why; then where it shows over real HTTP.

Contoso on 10 June 2026 (test_kpis' world; freshness weighs 0 here, so that only figures defined elsewhere count):
- coverage: Sara and Dirk decide; Sara was met on 1 June, Dirk in February only -> 1 of 2 = 0.5 (weight 20);
- plan: of the objectives and actions done or due, 2 done (an objective, an action), 2 late -> 0.5 (weight 15);
- acknowledgements within 24 h: 0.5 (weight 15); conflicts: the price risk is open -> 1 − 0.25 = 0.75 (weight 10);
- reviews on time: 2 of 4 quarters -> 0.5 (weight 10); whitespace: no grid in the plan -> not counted.
Counted weight 70; 20 × 0.5 + 15 × 0.5 + 15 × 0.5 + 10 × 0.75 + 10 × 0.5 = 37.5; 100 × 37.5 / 70 = 53.57 -> 54.
With a grid of one row sold, one in the pipeline, one open and one not relevant: 2 of 3 -> whitespace (weight 10)
counts; 100 × (37.5 + 6.67) / 80 = 55.21 -> 55.
Fabrikam, new: nobody decides (coverage 0, said so), no plan item due, no acknowledgement asked, no review period
yet; no open conflict -> 1. 100 × (20 × 0 + 10 × 1) / 30 = 33.33 -> 33.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import re
from collections.abc import AsyncIterator

import aiohttp
import openpyxl
import pytest
from sqlalchemy import func, select

from bot.app import SERVICES
from cards.health import part_name
from cards.i18n import Texts
from kam.demo import TENANT_ID
from kam.health import DEFAULT_WEIGHTS, Health, HealthSettings, Note, Part, health_for, record_health
from kam.migrate import upgrade
from kam.models import (
    Account,
    AccountHealth,
    AccountMember,
    Flag,
    FlagKind,
    ItemKind,
    OutboxMessage,
    Person,
    PlanVersion,
    Role,
    Stakeholder,
)
from kam.outbox import OutboxKind
from kam.storage import Database
from kam.whitespace import CellStatus, GridLine, WhitespaceCell, WhitespaceGrid
from tests.integration.test_kpis import TODAY, World, seed
from tests.integration.test_list_review import type_in_chat
from tests.integration.test_search import query
from tests.support.cards_judge import assert_valid_cards
from tests.support.fakes.connector import ConnectorFake
from tests.support.fakes.entra import EntraFake
from tests.support.flows import chat_cards, tab_settings, texts_in
from tests.support.harness import RunningBot, local_settings, migrate_and_seed
from tests.support.teams import USERS

NO_FRESHNESS = HealthSettings(weights=dict(DEFAULT_WEIGHTS) | {Part.FRESHNESS: 0.0})


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    await asyncio.to_thread(upgrade, database_url)
    db = Database(database_url)
    async with db.transaction() as session:
        contoso, fabrikam = await seed(session)
    yield World(db, contoso, fabrikam)
    await db.close()


def values(health: Health) -> dict[Part, float | None]:
    return {p.part: p.value for p in health.parts}


async def test_the_score_of_each_account_is_the_one_worked_out_by_hand(world: World) -> None:
    async with world.db.transaction() as session:
        healths = await health_for(session, [world.contoso, world.fabrikam, 999], TODAY, NO_FRESHNESS)
    assert set(healths) == {world.contoso, world.fabrikam}  # an account that does not exist has no score
    contoso = healths[world.contoso]
    assert contoso.score == 54
    assert values(contoso) == {
        Part.COVERAGE: 0.5,
        Part.FRESHNESS: None,  # weighs 0
        Part.PLAN: 0.5,
        Part.ACKNOWLEDGEMENTS: 0.5,
        Part.CONFLICTS: 0.75,
        Part.REVIEW: 0.5,
        Part.WHITESPACE: None,
    }
    # coverage costs 100 × 20 / 70 × 0.5 = 14.29 points, plan and acknowledgements 10.71 each (plan first)
    assert [(p.part, p.cost) for p in contoso.costliest()] == [(Part.COVERAGE, 14.29), (Part.PLAN, 10.71)]
    fabrikam = healths[world.fabrikam]
    assert fabrikam.score == 33
    coverage = next(p for p in fabrikam.parts if p.part is Part.COVERAGE)
    assert (coverage.value, coverage.note) == (0.0, Note.NO_DECISION_MAKERS)
    assert [p.part for p in fabrikam.parts if p.counted] == [Part.COVERAGE, Part.CONFLICTS]


async def test_the_whitespace_grid_of_the_plan_in_force_counts(world: World) -> None:
    rows = [GridLine(name=name) for name in ("Plant Leipzig", "Plant Graz", "Plant Lyon", "Plant Turin")]
    column = GridLine(name="Predictive maintenance")
    statuses = (CellStatus.SOLD, CellStatus.PIPELINE, CellStatus.OPEN, CellStatus.NOT_RELEVANT)
    cells = [WhitespaceCell(row_id=r.id, column_id=column.id, status=s) for r, s in zip(rows, statuses)]
    grid = WhitespaceGrid(rows=rows, columns=[column], cells=cells)
    async with world.db.transaction() as session:
        newest = await session.scalar(
            select(PlanVersion).where(PlanVersion.account_id == world.contoso, PlanVersion.version == 2)
        )
        assert newest is not None
        content = dict(newest.content) | {"whitespace": grid.model_dump(mode="json")}
        session.add(PlanVersion(account_id=world.contoso, version=3, content=content, saved_by_id=newest.saved_by_id))
    async with world.db.transaction() as session:
        health = (await health_for(session, [world.contoso], TODAY, NO_FRESHNESS))[world.contoso]
    assert health.score == 55 and values(health)[Part.WHITESPACE] == pytest.approx(2 / 3)


async def test_the_day_is_stored_once_and_a_drop_is_queued_once_to_the_ka_manager(world: World) -> None:
    week_ago = TODAY - dt.timedelta(days=7)
    # A week ago every counted part was whole but the plan, the acknowledgements and the reviews (as today):
    # 100 × (20 + 7.5 + 7.5 + 10 + 5) / 70 = 71.43 -> 71.
    share = 100 / 70
    then = {
        "coverage": {"weight": 20, "value": 1.0, "points": round(20 * share, 2)},
        "plan": {"weight": 15, "value": 0.5, "points": round(7.5 * share, 2)},
        "acknowledgements": {"weight": 15, "value": 0.5, "points": round(7.5 * share, 2)},
        "conflicts": {"weight": 10, "value": 1.0, "points": round(10 * share, 2)},
        "review": {"weight": 10, "value": 0.5, "points": round(5 * share, 2)},
    }
    async with world.db.transaction() as session:
        session.add(AccountHealth(account_id=world.contoso, on_date=week_ago, score=71, parts=then))
    async with world.db.transaction() as session:
        assert await record_health(session, TODAY, NO_FRESHNESS) == 1  # Megan, Contoso's KA manager: 71 -> 54
    async with world.db.transaction() as session:
        assert await record_health(session, TODAY, NO_FRESHNESS) == 0  # the day is done: nothing twice
    async with world.db.transaction() as session:
        stored = {
            (row.account_id, row.on_date): row
            for row in await session.scalars(select(AccountHealth).where(AccountHealth.on_date == TODAY))
        }
        assert {key: row.score for key, row in stored.items()} == {
            (world.contoso, TODAY): 54,
            (world.fabrikam, TODAY): 33,
        }
        assert stored[(world.contoso, TODAY)].drop_told_at is not None
        assert stored[(world.fabrikam, TODAY)].drop_told_at is None  # nothing to compare with
        drops = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.HEALTH_DROP)))
        megan = await session.scalar(select(Person.id).where(Person.name == "Megan Bowen"))
    assert [(d.subject_id, d.account_id, d.detail) for d in drops] == [
        (megan, world.contoso, {"on": TODAY.isoformat(), "before": week_ago.isoformat()})
    ]


async def test_a_fall_within_the_alert_tells_nobody(world: World) -> None:
    async with world.db.transaction() as session:
        session.add(AccountHealth(account_id=world.contoso, on_date=TODAY - dt.timedelta(days=7), score=64, parts={}))
    async with world.db.transaction() as session:
        assert await record_health(session, TODAY, NO_FRESHNESS) == 0  # 64 -> 54: 10 points, not more
        assert await session.scalar(select(func.count()).select_from(AccountHealth)) == 3


# -- over real HTTP, in the demo world -----------------------------------------------------------------------------


@pytest.fixture
async def steering_bot(sqlite_url: str, connector: ConnectorFake) -> AsyncIterator[tuple[RunningBot, EntraFake]]:
    entra = await EntraFake().start()
    await migrate_and_seed(sqlite_url)
    heads = [USERS["isaiah"].aad_object_id]
    settings = tab_settings(
        sqlite_url, entra, head_of_kam_aad_ids=heads, public_base_url="https://kambot.example", background_jobs=False
    )
    running = await RunningBot(settings, connector).start()
    yield running, entra
    await running.stop()
    await entra.stop()


@pytest.fixture
async def chat_bot(sqlite_url: str, connector: ConnectorFake) -> AsyncIterator[RunningBot]:
    """The demo bot whose cards link to the tabs, with no sweep of its own: the test runs the daily job."""
    await migrate_and_seed(sqlite_url)
    settings = local_settings(sqlite_url, public_base_url="https://kambot.example", background_jobs=False)
    running = await RunningBot(settings, connector).start()
    yield running
    await running.stop()


async def open_conflicts(running: RunningBot, account_name: str, count: int) -> None:
    async with running.db.transaction() as session:
        account = await session.scalar(select(Account).where(Account.name == account_name))
        megan = await session.scalar(select(Person).where(Person.name == "Megan Bowen"))
        assert account is not None and megan is not None
        for _ in range(count):
            session.add(
                Flag(
                    account_id=account.id,
                    kind=FlagKind.PRICE_RISK,
                    item_kind=ItemKind.DECISION,
                    item_id=1,
                    owner_id=megan.id,
                    created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2),
                )
            )


async def test_the_ka_manager_hears_once_that_the_score_fell_and_why(chat_bot: RunningBot) -> None:
    running = chat_bot
    await type_in_chat(running, "megan", "help")  # kambot is installed in her chat
    today = dt.datetime.now(dt.UTC).date()
    week_ago = today - dt.timedelta(days=7)
    whole = {part.value: {"weight": w, "value": 1.0, "points": w} for part, w in DEFAULT_WEIGHTS.items()}
    await open_conflicts(running, "Contoso Pharma", 4)  # 1 − 4 × 0.25: conflicts are worth nothing now
    async with running.db.transaction() as session:
        session.add(AccountHealth(account_id=1, on_date=week_ago, score=100, parts=whole))
    services = running.app[SERVICES] if running.app is not None else None
    assert services is not None
    for _ in range(2):  # two sweeps (or two instances): one card
        async with running.db.transaction() as session:
            await record_health(session, today, services.selection.health)
        services.sender.kick()
        await running.settle()
    async with running.db.transaction() as session:
        now = await session.scalar(
            select(AccountHealth.score).where(AccountHealth.account_id == 1, AccountHealth.on_date == today)
        )
    cards = [c for c in chat_cards(running.connector, "megan") if "health fell" in texts_in(c)]
    assert len(cards) == 1
    text = texts_in(cards[0])
    assert f"Contoso Pharma: health fell from 100 to {now}" in text
    assert f"Compared with {week_ago.isoformat()}, these parts fell:" in text
    assert "Open conflicts: 100% → 0%" in text
    assert "https://kambot.example/tabs/insights?account=1" in str(cards[0])
    assert not [c for c in chat_cards(running.connector, "alex") if "health fell" in texts_in(c)]  # a member
    assert_valid_cards(cards)


async def test_a_manager_who_left_the_account_before_the_card_went_out_is_not_told(chat_bot: RunningBot) -> None:
    running = chat_bot
    await type_in_chat(running, "megan", "help")
    today = dt.datetime.now(dt.UTC).date()
    async with running.db.transaction() as session:
        session.add(AccountHealth(account_id=1, on_date=today - dt.timedelta(days=7), score=100, parts={}))
        assert await record_health(session, today, HealthSettings()) == 1  # Megan, Contoso's only KA manager
    async with running.db.transaction() as session:
        megan = await session.scalar(select(Person.id).where(Person.name == "Megan Bowen"))
        membership = await session.scalar(
            select(AccountMember).where(AccountMember.account_id == 1, AccountMember.person_id == megan)
        )
        assert membership is not None and membership.role == Role.MANAGER
        membership.role = Role.MEMBER
    assert running.app is not None
    running.app[SERVICES].sender.kick()
    await running.settle()
    assert not [c for c in chat_cards(running.connector, "megan") if "health fell" in texts_in(c)]


async def test_the_summary_card_shows_the_score_and_the_kinds_of_gaps_never_a_name(chat_bot: RunningBot) -> None:
    running = chat_bot
    reply = await running.send(query(running, "Contoso", user="alex"))
    summary = reply.body["composeExtension"]["attachments"][0]["content"]
    text = texts_in(summary)
    async with running.db.transaction() as session:
        health = (await health_for(session, [1], dt.date.today()))[1]
        names = list(await session.scalars(select(Stakeholder.name).where(Stakeholder.account_id == 1)))
    assert f"Health: {health.score}/100" in text
    costliest = "; ".join(part_name(Texts("en"), p.part) for p in health.costliest())
    assert f"Costing most: {costliest}" in text
    for kind in health.gaps:
        assert Texts("en")(f"health.gap.{kind.value}") in text
    assert names and not any(name in text for name in names)  # the card goes into chats others read
    assert_valid_cards([summary])


class Pages:
    def __init__(self, running: RunningBot, entra: EntraFake, http: aiohttp.ClientSession) -> None:
        self.running, self.entra, self.http = running, entra, http

    async def get(self, path: str, user: str) -> tuple[int, str]:
        headers = {"Authorization": f"Bearer {self.entra.token(USERS[user].aad_object_id, TENANT_ID)}"}
        async with self.http.get(f"{self.running.url}{path}", headers=headers) as r:
            return r.status, (await r.text() if r.content_type.startswith("text") else "")

    async def xlsx(self, path: str, user: str) -> list[list[object]]:
        headers = {"Authorization": f"Bearer {self.entra.token(USERS[user].aad_object_id, TENANT_ID)}"}
        async with self.http.get(f"{self.running.url}{path}", headers=headers) as r:
            assert r.status == 200
            book = openpyxl.load_workbook(io.BytesIO(await r.read()))
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]


@pytest.fixture
async def pages(steering_bot: tuple[RunningBot, EntraFake]) -> AsyncIterator[Pages]:
    running, entra = steering_bot
    async with aiohttp.ClientSession() as http:
        yield Pages(running, entra, http)


async def scores(pages: Pages) -> dict[str, int]:
    async with pages.running.db.transaction() as session:
        healths = await health_for(session, [1, 2], dt.date.today())
    found = {"Contoso Pharma": healths[1].score, "Fabrikam Logistics": healths[2].score}
    return {name: score for name, score in found.items() if score is not None}


async def test_the_portfolio_has_a_health_column_sorted_filtered_and_exported(pages: Pages) -> None:
    await open_conflicts(pages.running, "Fabrikam Logistics", 4)  # Fabrikam's score falls below Contoso's
    expected = await scores(pages)
    assert expected["Fabrikam Logistics"] < expected["Contoso Pharma"]
    status, page = await pages.get("/tabs/portfolio/content?sort=health&order=asc", "isaiah")
    assert status == 200
    shown = re.findall(r'data-label="Health"><span>(\d+)</span>', page)
    assert shown == [str(expected["Fabrikam Logistics"]), str(expected["Contoso Pharma"])]
    below = expected["Contoso Pharma"]
    _, page = await pages.get(f"/tabs/portfolio/content?health_below={below}", "isaiah")
    assert "Fabrikam Logistics" in page and "<strong>Contoso Pharma</strong>" not in page
    _, page = await pages.get("/tabs/portfolio/content?health_below=abc", "isaiah")  # no filter, no error
    assert "<strong>Contoso Pharma</strong>" in page
    rows = await pages.xlsx("/tabs/portfolio/export.xlsx?sort=health&order=desc", "isaiah")
    column = rows[0].index("Health")
    assert [(row[0], row[column]) for row in rows[1:]] == [
        ("Contoso Pharma", expected["Contoso Pharma"]),
        ("Fabrikam Logistics", expected["Fabrikam Logistics"]),
    ]


async def test_the_portfolio_shows_the_score_stored_today_and_computes_the_others(pages: Pages) -> None:
    today = dt.date.today()
    # Contoso's score of this morning, as record_health stored it: coverage whole, conflicts at half, weights 20/10
    # -> 100 × (20 × 1 + 10 × 0.5) / 30 = 83.33 -> 83; since then its figures changed (the stored one counts).
    parts = {
        "coverage": {"weight": 20, "value": 1.0, "points": 66.67, "note": None},
        "conflicts": {"weight": 10, "value": 0.5, "points": 16.67, "note": None},
    }
    async with pages.running.db.transaction() as session:
        session.add(AccountHealth(account_id=1, on_date=today, score=83, parts=parts))
    await open_conflicts(pages.running, "Contoso Pharma", 1)
    live = await scores(pages)
    fabrikam = live["Fabrikam Logistics"]  # no score stored today: computed
    assert live["Contoso Pharma"] != 83
    status, page = await pages.get("/tabs/portfolio/content?sort=health&order=desc", "isaiah")
    assert status == 200
    assert re.findall(r'data-label="Health"><span>(\d+)</span>', page) == ["83", str(fabrikam)]
    rows = await pages.xlsx("/tabs/portfolio/export.xlsx?sort=health&order=desc", "isaiah")
    column = rows[0].index("Health")
    assert [(row[0], row[column]) for row in rows[1:]] == [("Contoso Pharma", 83), ("Fabrikam Logistics", fabrikam)]


async def test_insights_shows_the_parts_to_the_ka_manager_and_the_score_alone_to_a_member(pages: Pages) -> None:
    today = dt.date.today()
    async with pages.running.db.transaction() as session:
        for days, score in ((2, 61), (1, 58)):
            session.add(AccountHealth(account_id=1, on_date=today - dt.timedelta(days=days), score=score, parts={}))
    expected = (await scores(pages))["Contoso Pharma"]
    status, page = await pages.get("/tabs/insights/content?account=1", "megan")
    assert status == 200
    assert f"Health: {expected}/100" in page
    table = page.split('<table id="health-parts"', 1)[1].split("</table>", 1)[0]
    assert len(re.findall(r"<tr>", table)) == 8  # the head and a line per part
    assert "Coverage of decision makers" in table and "Weight" in table
    trend = page.split('<table id="health-trend"', 1)[1].split("</table>", 1)[0]
    days = [(today - dt.timedelta(days=d)).isoformat() for d in (2, 1)]
    assert re.findall(r'<th scope="row">([\d-]+)</th><td>(\d+)</td>', trend) == [(days[0], "61"), (days[1], "58")]
    assert f"{days[0]}: 61, {days[1]}: 58" in page  # the chart's text alternative
    status, page = await pages.get("/tabs/insights/content?account=1", "adele")  # a member of Contoso
    assert status == 200 and f"Health: {expected}/100" in page
    assert 'id="health-parts"' not in page and "the KA managers and the head of KAM also see its parts" in page
