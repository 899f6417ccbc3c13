"""The relationship map, the coverage flags and the health score on a large account and portfolio (PostgreSQL).

Generates, with bulk Core inserts into a fresh database: one large account with `--stakeholders` customer people
(default 300) in an org chart with informal influence, `--members` team members (default 40) and `--contacts`
logged contacts over the last year (default 5,000), each with one to three customer people and up to two more of
ours; and `--accounts - 1` ordinary accounts (20 customer people, 10 members, 200 contacts, a plan with objectives
and a whitespace grid). Then, each figure the median of `--requests` after one warm-up and the worst of `--runs`:

- map: the Stakeholders tab of the large account over HTTP, signed in as its KA manager, as Teams asks for it: the
  data, the coverage flags, the igraph layout and the SVG with its table (the same page of an ordinary account
  is the baseline in the same run: `ratio_map`);
- flags: the coverage flags of the large account alone (kam.relationships.coverage_facts);
- health: the health score of every account (kam.health.health_for, all `--accounts`), and of a tenth of them as
  the baseline, as the app computes it: with the figures of complete days in its cache (kam.kpis.KpiCache, which
  `KAMBOT_WARM_FIGURES` fills at start-up and after midnight; the first, cold computation is printed too); the
  SQL statements of both are counted and must be equal.

Last line: `relationships stakeholders=300 contacts=5000 map_ms=A flags_ms=B health_500_ms=C`.
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker, create_async_engine  # noqa: E402

from bench.bulk import Statements, analyze, bulk, median_ms, sequences_past  # noqa: E402
from bot.app import SERVICES  # noqa: E402
from bot.event_loop import run as run_on_loop  # noqa: E402
from kam.demo import TENANT_ID  # noqa: E402
from kam.health import health_for  # noqa: E402
from kam.kpis import KpiCache  # noqa: E402
from kam.migrate import upgrade  # noqa: E402
from kam.models import (  # noqa: E402
    Account,
    AccountMember,
    Attitude,
    BuyingRole,
    Contact,
    ContactKind,
    DecisionPower,
    Person,
    PlanVersion,
    RelationshipStrength,
    Role,
    Stakeholder,
    StakeholderInfluence,
    StakeholderLevel,
    Tier,
    contact_participants,
    contact_stakeholders,
)
from kam.relationships import coverage_facts  # noqa: E402
from tests.support.fakes.entra import EntraFake  # noqa: E402
from tests.support.flows import tab_settings  # noqa: E402
from tests.support.harness import RunningBot, fresh_database  # noqa: E402

DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SMALL_STAKEHOLDERS, SMALL_MEMBERS, SMALL_CONTACTS = 20, 10, 200
MAP_MS, HEALTH_MS = 250.0, 1000.0  # the targets
LARGE, ORDINARY = 1, 2  # the account ids measured


class Ids:
    """The next id of each generated table."""

    def __init__(self) -> None:
        self.stakeholder = 0
        self.contact = 0


async def org_chart(connection: AsyncConnection, rng: random.Random, ids: Ids, account: int, size: int) -> list[int]:
    """`size` customer people: each reports to someone before them (about four reports each), with influence."""
    first = ids.stakeholder + 1
    ids.stakeholder += size
    rows, depth = [], {}
    for n in range(size):
        boss = None if n == 0 else first + (n - 1) // 4
        depth[first + n] = 0 if boss is None else depth[boss] + 1
        level = (
            StakeholderLevel.EXECUTIVE
            if depth[first + n] <= 1
            else StakeholderLevel.MANAGEMENT
            if depth[first + n] <= 3
            else StakeholderLevel.OPERATIONAL
        )
        rows.append(
            {
                "id": first + n,
                "account_id": account,
                "name": f"Customer person {n}",
                "email": f"p{n}@customer{account}.example",
                "title": "Head of something",
                "level": level,
                "buying_role": list(BuyingRole)[n % len(BuyingRole)] if n % 3 == 0 else None,
                "attitude": list(Attitude)[rng.randrange(len(Attitude))],
                "decision_power": list(DecisionPower)[min(2, 2 - depth[first + n] // 2)] if n % 2 == 0 else None,
                "inner_circle": depth[first + n] <= 1,
                "reports_to_id": boss,
            }
        )
    await bulk(connection, Stakeholder, rows)
    pairs = {tuple(rng.sample(range(first, first + size), 2)) for _ in range(size // 5)}
    await bulk(
        connection,
        StakeholderInfluence,
        [{"account_id": account, "influencer_id": a, "influenced_id": b} for a, b in pairs],
    )
    return list(range(first, first + size))


async def logged_contacts(
    connection: AsyncConnection,
    rng: random.Random,
    ids: Ids,
    account: int,
    team: list[int],
    stakeholders: list[int],
    count: int,
    now: dt.datetime,
) -> None:
    """A year of contacts: each with one to three customer people (the top of the chart more often) and up to
    two more of ours besides the one who logged it."""
    contacts, met, attended = [], [], []
    kinds = list(ContactKind)
    for _ in range(count):
        ids.contact += 1
        logged = now - dt.timedelta(minutes=rng.randrange(1, 365 * 24 * 60))
        by = rng.choice(team)
        contacts.append(
            {
                "id": ids.contact,
                "account_id": account,
                "logged_by_id": by,
                "idempotency_key": f"c{ids.contact:031x}",
                "met_on": logged.date(),
                "kind": rng.choice(kinds),
                "summary": "Visit",
                "created_at": logged,
            }
        )
        people = {stakeholders[min(int(rng.expovariate(1 / 30)), len(stakeholders) - 1)] for _ in range(3)}
        met += [{"contact_id": ids.contact, "stakeholder_id": s} for s in sorted(people)[: rng.randint(1, 3)]]
        others = {p for p in rng.sample(team, min(2, len(team))) if p != by}
        attended += [{"contact_id": ids.contact, "person_id": p} for p in sorted(others)[: rng.randint(0, 2)]]
    await bulk(connection, Contact, contacts)
    await bulk(connection, contact_stakeholders, met)
    await bulk(connection, contact_participants, attended)


def plan(rng: random.Random, today: dt.date, team: list[int]) -> dict[str, Any]:
    """Objectives and actions, and a whitespace grid of 5 sites × 6 solutions."""
    statuses = ["sold", "pipeline", "open", "not_relevant", "lost"]
    rows = [{"id": f"{1000 + n:032x}", "name": f"Site {n}"} for n in range(5)]
    columns = [{"id": f"{2000 + n:032x}", "name": f"Solution {n}"} for n in range(6)]
    return {
        "sections": {"potential_targets": "Revenue target: 1.5 m"},
        "items": [
            {
                "id": f"{n:032x}",
                "kind": "objective" if n < 3 else "action",
                "title": f"Item {n}",
                "owner_id": team[n % len(team)],
                "due_on": (today + dt.timedelta(days=30 * n - 60)).isoformat(),
                "status": "done" if n % 3 == 0 else "open",
                "progress": 0,
                "comment": "",
            }
            for n in range(8)
        ],
        "whitespace": {
            "rows": rows,
            "columns": columns,
            "cells": [
                {
                    "row_id": r["id"],
                    "column_id": c["id"],
                    "status": rng.choice(statuses),
                    "potential": rng.uniform(1e4, 1e6),
                    "owner_id": rng.choice(team),
                    "note": "",
                }
                for r in rows
                for c in columns
            ],
        },
    }


async def generate(url: str, accounts: int, stakeholders: int, members: int, contacts: int) -> None:
    await asyncio.to_thread(upgrade, url)
    engine = create_async_engine(url)
    rng = random.Random(19)
    now = dt.datetime.now(dt.UTC)
    people = members + (accounts - 1) * 2
    ids = Ids()
    async with engine.begin() as connection:
        await bulk(
            connection,
            Person,
            [{"id": n, "name": f"Person {n}", "aad_object_id": f"aad-{n}"} for n in range(1, people + 1)],
        )
        await bulk(
            connection,
            Account,
            [{"id": a, "name": f"Customer {a:04d}", "tier": Tier.KEY_ACCOUNT} for a in range(1, accounts + 1)],
        )
        pool = range(members + 1, people + 1)
        teams = {LARGE: list(range(1, members + 1))}
        teams |= {a: rng.sample(pool, SMALL_MEMBERS) for a in range(2, accounts + 1)}
        await bulk(
            connection,
            AccountMember,
            [
                {"account_id": a, "person_id": p, "role": Role.MANAGER if i == 0 else Role.MEMBER, "function": "sales"}
                for a, team in teams.items()
                for i, p in enumerate(team)
            ],
        )
        for a, team in teams.items():
            large = a == LARGE
            chart = await org_chart(connection, rng, ids, a, stakeholders if large else SMALL_STAKEHOLDERS)
            await logged_contacts(connection, rng, ids, a, team, chart, contacts if large else SMALL_CONTACTS, now)
            content = plan(rng, now.date(), team)
            await bulk(
                connection, PlanVersion, [{"account_id": a, "version": 1, "content": content, "saved_by_id": team[0]}]
            )
            if large:
                await bulk(
                    connection,
                    RelationshipStrength,
                    [
                        {"stakeholder_id": s, "person_id": p, "strength": 60, "set_by_id": team[0], "set_at": now}
                        for s, p in zip(chart[:20], team[:20], strict=True)
                    ],
                )
            print(f"\rgenerated {a}/{accounts} accounts", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        await sequences_past(connection, ("people", "accounts", "stakeholders", "contacts"))
    await analyze(engine)
    await engine.dispose()


async def main(
    server: str, accounts: int, stakeholders: int, members: int, contacts: int, requests: int, runs: int
) -> None:
    entra = await EntraFake().start()
    figures: dict[str, list[float]] = {"map": [], "map_small": [], "flags": [], "health": [], "health_small": []}
    async with fresh_database(server) as url:
        started = time.monotonic()
        await generate(url, accounts, stakeholders, members, contacts)
        print(f"generated in {time.monotonic() - started:.0f} s", file=sys.stderr)
        bot = await RunningBot(tab_settings(url, entra, background_jobs=False)).start()
        engine = create_async_engine(url)
        counted = Statements(engine)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        token = entra.token("aad-1", TENANT_ID)  # the large account's KA manager
        small_token = None
        today = dt.date.today()
        everyone = list(range(1, accounts + 1))
        tenth = everyone[: max(1, accounts // 10)]
        try:
            async with aiohttp.ClientSession() as http, sessions() as session:
                async with session.begin():
                    manager = await session.scalar(
                        text(
                            f"SELECT p.aad_object_id FROM account_members m JOIN people p ON p.id = m.person_id "
                            f"WHERE m.account_id = {ORDINARY} AND m.role = 'manager'"
                        )
                    )
                small_token = entra.token(manager, TENANT_ID)

                async def page(account: int, bearer: str) -> None:
                    url = f"{bot.url}/tabs/stakeholders/content?account={account}"
                    async with http.get(url, headers={"Authorization": f"Bearer {bearer}"}) as response:
                        body = await response.text()
                        assert response.status == 200, f"{url}: {response.status}"
                        assert "<svg" in body, "the map is drawn"

                async def flags() -> None:
                    async with session.begin():
                        await coverage_facts(session, [LARGE], today)

                cache = KpiCache()

                async def health(ids: list[int]) -> None:
                    async with session.begin():
                        scores = await health_for(session, ids, today, bot.app[SERVICES].selection.health, cache)
                    assert len(scores) == len(ids)

                started = time.perf_counter()
                await health(everyone)
                cold_ms = (time.perf_counter() - started) * 1000
                before = counted.count
                await health(everyone)
                statements_all = counted.count - before
                before = counted.count
                await health(tenth)
                statements_tenth = counted.count - before
                for run in range(runs):
                    figures["map"].append(await median_ms(lambda: page(LARGE, token), requests))
                    figures["map_small"].append(await median_ms(lambda: page(ORDINARY, small_token), requests))
                    figures["flags"].append(await median_ms(flags, requests))
                    figures["health"].append(await median_ms(lambda: health(everyone), requests))
                    figures["health_small"].append(await median_ms(lambda: health(tenth), requests))
                    print(
                        f"run {run + 1}: " + " ".join(f"{k}_ms={v[-1]:.1f}" for k, v in figures.items()),
                        file=sys.stderr,
                    )
        finally:
            await engine.dispose()
            await bot.stop()
    await entra.stop()
    worst = {k: max(v) for k, v in figures.items()}
    print(f"targets: map and flags < {MAP_MS:.0f} ms; health of {accounts} accounts < {HEALTH_MS:.0f} ms")
    print(
        f"baselines: the map of an ordinary account ({SMALL_STAKEHOLDERS} people, {SMALL_CONTACTS} contacts) "
        f"{worst['map_small']:.1f} ms, ratio_map={worst['map'] / worst['map_small']:.2f}; health of {len(tenth)} "
        f"accounts {worst['health_small']:.1f} ms, ratio_health={worst['health'] / worst['health_small']:.2f}; "
        f"statements {statements_tenth}/{statements_all}; the first health of {accounts} accounts, figures of "
        f"complete days not computed yet: {cold_ms:.1f} ms"
    )
    assert statements_all == statements_tenth, (
        f"health statements: {statements_tenth} for {len(tenth)}, {statements_all}"
    )
    print(
        f"relationships stakeholders={stakeholders} contacts={contacts} map_ms={worst['map']:.1f} "
        f"flags_ms={worst['flags']:.1f} health_{accounts}_ms={worst['health']:.1f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.environ.get("KAMBOT_TEST_POSTGRES_URL", DEFAULT_SERVER))
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--stakeholders", type=int, default=300)
    parser.add_argument("--members", type=int, default=40)
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    run_on_loop(
        main(
            arguments.server,
            arguments.accounts,
            arguments.stakeholders,
            arguments.members,
            arguments.contacts,
            arguments.requests,
            arguments.runs,
        )
    )
