"""The portfolio page, its .xlsx export and one account's Insights tab on a large company's data (PostgreSQL).

Generates, with bulk Core inserts into a fresh database: `--accounts` accounts (default 500), each with 10
members out of a pool of people, 10 stakeholders, a plan with objectives and actions, results figures, and
`--items` contacts and decisions over the last year (default 2,000 per account), each with its delivered
channel post and two required acknowledgements (most given within a day). The head of KAM then asks over
HTTP, signed in like a Teams tab: the portfolio page and its export with every account, one account's
Insights tab, and the portfolio page with `--small` accounts (the others made inactive for that, then back).

Each figure is the median of `--requests` requests after one warm-up, the worst of `--runs` runs: the
figures of complete days are then in the bot's cache (kam.kpis.KpiCache, filled once a day); the first,
cold page of the day is timed and printed too (before any health score of the day is stored, so that it computes
them all). Then the day's health scores are stored, as the bot does at start-up and the sweep once a day
(kam.health.record_health), and the timed pages read them. The SQL statements the app's engine runs per page are
counted (`before_cursor_execute`) at both sizes, cold and warm, and must be equal: the page's cost must not grow
a statement per account. Last line:
`portfolio accounts=500 page_500_ms=A export_500_ms=B insights_ms=C page_50_ms=D statements_50=N
statements_500=M ratio_500_to_50=R` (R: the page's time at 500 accounts over its time at 50).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from sqlalchemy import insert, update  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bench.bulk import Statements, analyze, bulk, median_ms, sequences_past  # noqa: E402
from bot.app import SERVICES  # noqa: E402
from bot.event_loop import run as run_on_loop  # noqa: E402
from kam.demo import TENANT_ID  # noqa: E402
from kam.health import record_health  # noqa: E402
from kam.migrate import upgrade  # noqa: E402
from kam.models import (  # noqa: E402
    Account,
    AccountMember,
    Acknowledgement,
    BuyingRole,
    CompanyFigures,
    Contact,
    ContactKind,
    Decision,
    DecisionCategory,
    ItemKind,
    OutboxMessage,
    OutboxStatus,
    Person,
    PlanVersion,
    ResultFigures,
    Role,
    Stakeholder,
    StakeholderLevel,
    Tier,
    contact_stakeholders,
)
from kam.outbox import OutboxKind  # noqa: E402
from tests.support.fakes.entra import EntraFake  # noqa: E402
from tests.support.flows import tab_settings  # noqa: E402
from tests.support.harness import RunningBot, fresh_database  # noqa: E402

DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
MEMBERS, STAKEHOLDERS = 10, 10
HEAD_AAD = "00000000-0000-0000-0000-00000000beef"
PAGE_MS, INSIGHTS_MS = 300.0, 100.0  # the targets


async def generate(url: str, accounts: int, items: int) -> None:
    """The company: people, accounts, teams, stakeholders, plans, results and a year of logged items."""
    await asyncio.to_thread(upgrade, url)
    engine = create_async_engine(url)
    rng = random.Random(18)
    now = dt.datetime.now(dt.UTC)
    year = now.year
    people = accounts * 2 + 1
    async with engine.begin() as connection:
        await bulk(
            connection,
            Person,
            [{"id": 1, "name": "Head of KAM", "aad_object_id": HEAD_AAD}]
            + [{"id": n, "name": f"Person {n}", "aad_object_id": f"aad-{n}"} for n in range(2, people + 1)],
        )
        tiers = list(Tier)
        await bulk(
            connection,
            Account,
            [
                {
                    "id": a,
                    "name": f"Customer {a:04d}",
                    "tier": tiers[a % len(tiers)],
                    "scores": {"strategic_importance": rng.uniform(0, 5), "customer_complexity": rng.uniform(0, 5)},
                }
                for a in range(1, accounts + 1)
            ],
        )
        teams = {a: rng.sample(range(2, people + 1), MEMBERS) for a in range(1, accounts + 1)}
        await bulk(
            connection,
            AccountMember,
            [
                {"account_id": a, "person_id": p, "role": Role.MANAGER if i == 0 else Role.MEMBER, "function": "sales"}
                for a, team in teams.items()
                for i, p in enumerate(team)
            ],
        )
        levels, roles = list(StakeholderLevel), list(BuyingRole)
        await bulk(
            connection,
            Stakeholder,
            [
                {
                    "id": (a - 1) * STAKEHOLDERS + s + 1,
                    "account_id": a,
                    "name": f"Stakeholder {s}",
                    "level": levels[s % 3],
                    "buying_role": roles[s % len(roles)],
                }
                for a in range(1, accounts + 1)
                for s in range(STAKEHOLDERS)
            ],
        )
        plan = {
            "sections": {"potential_targets": "Revenue target: 1.5 m"},
            "items": [
                {
                    "id": f"{n:032x}",
                    "kind": "objective" if n < 3 else "action",
                    "title": f"Item {n}",
                    "owner_id": None,
                    "due_on": (now.date() + dt.timedelta(days=30 * n - 60)).isoformat(),
                    "status": "done" if n % 3 == 0 else "open",
                    "progress": 0,
                    "comment": "",
                }
                for n in range(8)
            ],
        }
        await bulk(
            connection,
            PlanVersion,
            [{"account_id": a, "version": 1, "content": plan, "saved_by_id": teams[a][0]} for a in teams],
        )
        await bulk(
            connection,
            ResultFigures,
            [
                {
                    "account_id": a,
                    "year": year - 1,
                    "revenue": rng.uniform(2e5, 5e6),
                    "margin": rng.uniform(0.1, 0.4),
                    "potential": rng.uniform(5e6, 2e7),
                    "share_of_wallet": rng.uniform(0.05, 0.6),
                }
                for a in teams
            ],
        )
        await connection.execute(insert(CompanyFigures), [{"year": year - 1, "revenue": accounts * 5e6}])
        kinds, categories = list(ContactKind), list(DecisionCategory)
        contact_id = decision_id = 0
        for a, team in teams.items():
            contacts, decisions, outbox, acks, met = [], [], [], [], []
            for n in range(items):
                logged = now - dt.timedelta(minutes=rng.randrange(1, 365 * 24 * 60))
                by = team[rng.randrange(MEMBERS)]
                is_decision = n % 5 == 0
                if is_decision:
                    decision_id += 1
                    item_id, kind = decision_id, ItemKind.DECISION
                    decisions.append(
                        {
                            "id": item_id,
                            "account_id": a,
                            "logged_by_id": by,
                            "idempotency_key": f"d{item_id:031x}",
                            "title": "Price",
                            "category": categories[n % len(categories)],
                            "decision": "Agreed.",
                            "decided_by": "KA manager",
                            "effective_on": logged.date(),
                            "created_at": logged,
                        }
                    )
                else:
                    contact_id += 1
                    item_id, kind = contact_id, ItemKind.CONTACT
                    contacts.append(
                        {
                            "id": item_id,
                            "account_id": a,
                            "logged_by_id": by,
                            "idempotency_key": f"c{item_id:031x}",
                            "met_on": logged.date(),
                            "kind": kinds[n % len(kinds)],
                            "summary": "Visit",
                            "created_at": logged,
                        }
                    )
                    met.append({"contact_id": item_id, "stakeholder_id": (a - 1) * STAKEHOLDERS + n % STAKEHOLDERS + 1})
                posted = OutboxKind.DECISION_LOGGED if is_decision else OutboxKind.CONTACT_LOGGED
                outbox.append(
                    {
                        "kind": posted.value,
                        "subject_id": item_id,
                        "account_id": a,
                        "status": OutboxStatus.SENT,
                        "created_at": logged,
                        "sent_at": logged + dt.timedelta(seconds=rng.randrange(5, 900)),
                    }
                )
                for person in rng.sample([p for p in team if p != by], 2):
                    given = logged + dt.timedelta(hours=rng.expovariate(1 / 12))
                    acks.append(
                        {
                            "account_id": a,
                            "item_kind": kind,
                            "item_id": item_id,
                            "person_id": person,
                            "created_at": logged,
                            "acknowledged_at": given if given < now else None,
                        }
                    )
            await bulk(connection, Contact, contacts)
            await bulk(connection, Decision, decisions)
            await bulk(connection, contact_stakeholders, met)
            await bulk(connection, OutboxMessage, outbox)
            await bulk(connection, Acknowledgement, acks)
            print(f"\rgenerated {a}/{accounts} accounts", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        await sequences_past(connection, ("people", "accounts", "stakeholders", "contacts", "decisions"))
    await analyze(engine)
    await engine.dispose()


async def timed(http: aiohttp.ClientSession, url: str, token: str, requests: int) -> float:
    """The median milliseconds of `requests` GETs after one warm-up."""
    headers = {"Authorization": f"Bearer {token}"}

    async def get() -> None:
        async with http.get(url, headers=headers) as response:
            await response.read()
            assert response.status == 200, f"{url}: {response.status}"

    return await median_ms(get, requests)


async def statements(bot: RunningBot, counter: Statements, http: aiohttp.ClientSession, url: str, token: str) -> int:
    before = counter.count
    async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
        await response.read()
    return counter.count - before


async def record_day(bot: RunningBot) -> None:
    """Store the day's health score of every active account, as the bot does at start-up and the sweep once a day
    (kam.health.record_health): the portfolio then reads it instead of computing it."""
    assert bot.app is not None
    services = bot.app[SERVICES]
    async with bot.db.transaction() as session:
        await record_health(session, dt.date.today(), services.selection.health, services.kpi_cache)


async def only_active(url: str, first: int | None) -> None:
    """Make the accounts after `first` inactive (None: all active again)."""
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.execute(update(Account).values(active=True))
        if first is not None:
            await connection.execute(update(Account).where(Account.id > first).values(active=False))
    await engine.dispose()


async def main(server: str, accounts: int, items: int, small: int, requests: int, runs: int) -> None:
    entra = await EntraFake().start()
    async with fresh_database(server) as url:
        started = time.monotonic()
        await generate(url, accounts, items)
        print(f"generated in {time.monotonic() - started:.0f} s", file=sys.stderr)
        bot = await RunningBot(tab_settings(url, entra, background_jobs=False, head_of_kam_aad_ids=[HEAD_AAD])).start()
        counter = Statements(bot.db.engine)
        token = entra.token(HEAD_AAD, TENANT_ID)
        page, export, insights = (
            f"{bot.url}/tabs/portfolio/content",
            f"{bot.url}/tabs/portfolio/export.xlsx",
            f"{bot.url}/tabs/insights/content?account=1",
        )
        figures: dict[str, list[float]] = {"page": [], "export": [], "insights": [], "small": []}
        try:
            async with aiohttp.ClientSession() as http:
                await only_active(url, small)
                started = time.perf_counter()
                cold_small = await statements(bot, counter, http, page, token)
                cold_small_ms = (time.perf_counter() - started) * 1000
                await only_active(url, None)
                started = time.perf_counter()
                cold_large = await statements(bot, counter, http, page, token)
                cold_large_ms = (time.perf_counter() - started) * 1000
                print(
                    f"cold page (figures of complete days computed, no health score stored): {small} accounts "
                    f"{cold_small_ms:.0f} ms, {accounts} accounts {cold_large_ms:.0f} ms; statements cold "
                    f"{cold_small}/{cold_large}",
                    file=sys.stderr,
                )
                started = time.perf_counter()
                await record_day(bot)
                print(
                    f"the day's health scores recorded in {(time.perf_counter() - started) * 1000:.0f} ms",
                    file=sys.stderr,
                )
                statements_large = await statements(bot, counter, http, page, token)
                await only_active(url, small)
                statements_small = await statements(bot, counter, http, page, token)
                await only_active(url, None)
                assert cold_small == cold_large, f"cold statements: {cold_small} at {small}, {cold_large}"
                for run in range(runs):
                    figures["page"].append(await timed(http, page, token, requests))
                    figures["export"].append(await timed(http, export, token, requests))
                    figures["insights"].append(await timed(http, insights, token, requests))
                    await only_active(url, small)
                    figures["small"].append(await timed(http, page, token, requests))
                    await only_active(url, None)
                    worst = {k: v[-1] for k, v in figures.items()}
                    print(f"run {run + 1}: " + " ".join(f"{k}_ms={v:.1f}" for k, v in worst.items()), file=sys.stderr)
        finally:
            await bot.stop()
    await entra.stop()
    worst = {k: max(v) for k, v in figures.items()}
    print(f"targets: page and export < {PAGE_MS:.0f} ms at {accounts} accounts, Insights < {INSIGHTS_MS:.0f} ms")
    assert statements_small == statements_large, (
        f"statements per page: {statements_small} at {small}, {statements_large} at {accounts}"
    )
    print(
        f"portfolio accounts={accounts} page_{accounts}_ms={worst['page']:.1f} "
        f"export_{accounts}_ms={worst['export']:.1f} insights_ms={worst['insights']:.1f} "
        f"page_{small}_ms={worst['small']:.1f} statements_{small}={statements_small} "
        f"statements_{accounts}={statements_large} ratio_{accounts}_to_{small}={worst['page'] / worst['small']:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.environ.get("KAMBOT_TEST_POSTGRES_URL", DEFAULT_SERVER))
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--items", type=int, default=2000, help="contacts and decisions per account and year")
    parser.add_argument("--small", type=int, default=50, help="the accounts of the smaller page")
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    run_on_loop(
        main(arguments.server, arguments.accounts, arguments.items, arguments.small, arguments.requests, arguments.runs)
    )
