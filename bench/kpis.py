"""The steering figures (kam.kpis) of a large portfolio on PostgreSQL: computed, and kept for the day.

    python bench/kpis.py [--accounts 500] [--items 2000] [--postgres URL]

Seeds a fresh database with `--accounts` accounts of 10 members and 20 stakeholders each,
`--items` contacts and decisions a year per account (four in five contacts, each naming a
stakeholder, posted within half an hour, with two acknowledgements) and a customer meeting
every other working day. Then measures `kpis_for` for 50 and for all accounts: cold (every
figure computed) and with a warm `KpiCache` (the figures of complete days kept, the plan,
reviews, conflicts, results and stakeholder map read), the monthly trend, one account, and
the SQL statements per call, which must be the same for 50 and for all (asserted).

The last line reads:

    kpis accounts=N cold_ms=C warm_ms=W warm_50_ms=W50 one_ms=O trend_ms=T statements_50=S statements_N=S2
    ratio_warm_to_50=R
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text  # noqa: E402

from kam.kpis import KpiCache, kpis_for, monthly_trend  # noqa: E402
from kam.migrate import upgrade  # noqa: E402
from kam.storage import Database  # noqa: E402
from tests.support.harness import fresh_database  # noqa: E402

SEED = """
insert into people (id, name) select g, 'Person ' || g from generate_series(1, {accounts} * 10) g;
insert into accounts (id, name, tier, customer_domains, countries, active, confidential, tabs_ready, created_at)
  select g, 'Account ' || g, case when g % 10 = 0 then 'strategic_key_account' else 'key_account' end, '[]', '[]',
    true, false, false, now() - interval '3 years'
  from generate_series(1, {accounts}) g;
insert into account_members (account_id, person_id, role, function)
  select a, (a - 1) * 10 + m, case when m = 1 then 'manager' else 'member' end, 'function ' || m
  from generate_series(1, {accounts}) a, generate_series(1, 10) m;
insert into stakeholders (id, account_id, name, buying_role, level)
  select (a - 1) * 20 + s, a, 'Stakeholder ' || s,
    case when s % 4 = 0 then 'decision_maker' else 'user' end,
    case when s % 5 = 0 then 'executive' else 'operational' end
  from generate_series(1, {accounts}) a, generate_series(1, 20) s;
insert into contacts (id, account_id, logged_by_id, idempotency_key, met_on, kind, customer_people, summary,
    customer_asked, we_committed, next_steps, confidential, created_at)
  select (a - 1) * {contacts} + c, a, (a - 1) * 10 + 1 + c % 10, md5(a || '-' || c),
    (now() - c * (interval '365 days' / {contacts}))::date, 'meeting', '', 'summary', '', '', '', c % 7 = 0,
    now() - c * (interval '365 days' / {contacts}) + interval '3 hours'
  from generate_series(1, {accounts}) a, generate_series(1, {contacts}) c;
insert into decisions (id, account_id, logged_by_id, idempotency_key, title, category, decision, rationale, decided_by,
    effective_on, scope, needs_confirmation, created_at)
  select (a - 1) * {decisions} + d, a, (a - 1) * 10 + 1, md5('d' || a || '-' || d), 'title', 'pricing', 'decision', '',
    'someone', now()::date, '', false, now() - d * (interval '365 days' / {decisions})
  from generate_series(1, {accounts}) a, generate_series(1, {decisions}) d;
insert into contact_stakeholders (contact_id, stakeholder_id)
  select id, (account_id - 1) * 20 + 1 + id % 20 from contacts;
insert into outbox (kind, subject_id, account_id, status, attempts, not_before, created_at, sent_at)
  select 'contact.logged', id, account_id, 'sent', 1, created_at, created_at,
    created_at + (id % 30) * interval '1 minute'
  from contacts
  union all
  select 'decision.logged', id, account_id, 'sent', 1, created_at, created_at,
    created_at + (id % 20) * interval '1 minute'
  from decisions;
insert into acknowledgements (account_id, item_kind, item_id, person_id, required, reasons, created_at, acknowledged_at)
  select account_id, 'contact', id, (account_id - 1) * 10 + 1 + (id + k) % 10, true, '[]', created_at,
    case when (id + k) % 9 = 0 then null else created_at + ((id + k) % 40) * interval '1 hour' end
  from contacts, generate_series(1, 2) k;
insert into meeting_nudges (person_id, account_id, meeting_key, subject, starts_at, ends_at, customer_people,
    colleague_ids, created_at)
  select (a - 1) * 10 + 1, a, 'meeting ' || a || '-' || m, '', now() - m * interval '2 days',
    now() - m * interval '2 days' + interval '1 hour', '[]', '[]', now() - m * interval '2 days' + interval '2 hours'
  from generate_series(1, {accounts}) a, generate_series(1, 180) m;
analyze
"""


async def seed(db: Database, accounts: int, items: int) -> None:
    decisions = max(items // 5, 1)
    values = {"accounts": accounts, "contacts": items - decisions, "decisions": decisions}
    async with db.engine.begin() as connection:
        for statement in SEED.format(**values).split(";\n"):
            await connection.execute(text(statement))


async def measure(url: str, accounts: int, items: int) -> str:
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        started = time.perf_counter()
        await seed(db, accounts, items)
        print(f"seeded {accounts} accounts in {time.perf_counter() - started:.0f} s", flush=True)
        statements: list[str] = []
        event.listen(db.engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        today = dt.date.today()
        few, every = list(range(1, 51)), list(range(1, accounts + 1))

        async def timed(work) -> tuple[float, int]:  # type: ignore[no-untyped-def]
            async with db.transaction() as session:
                statements.clear()
                started = time.perf_counter()
                await work(session)
                return (time.perf_counter() - started) * 1000, len(statements)

        cold_ms, cold_statements = await timed(lambda s: kpis_for(s, every, today))
        _, cold_50_statements = await timed(lambda s: kpis_for(s, few, today))
        cache = KpiCache()
        warm_up_ms, _ = await timed(lambda s: cache.warm(s, every, today))
        warm = [await timed(lambda s: kpis_for(s, every, today, cache)) for _ in range(5)]
        warm_50 = [await timed(lambda s: kpis_for(s, few, today, cache)) for _ in range(5)]
        one_ms = min([(await timed(lambda s: kpis_for(s, [7], today, cache)))[0] for _ in range(5)])
        trend_ms = min([(await timed(lambda s: monthly_trend(s, every, today, cache=cache)))[0] for _ in range(5)])
        warm_ms, statements_all = min(warm)
        warm_50_ms, statements_50 = min(warm_50)
        assert cold_statements == cold_50_statements, (cold_50_statements, cold_statements)
        assert statements_all == statements_50, (statements_50, statements_all)
        print(f"cold: {cold_ms:.0f} ms, {cold_statements} statements; warming the cache: {warm_up_ms:.0f} ms")
        return (
            f"kpis accounts={accounts} cold_ms={cold_ms:.0f} warm_ms={warm_ms:.1f} warm_50_ms={warm_50_ms:.1f} "
            f"one_ms={one_ms:.1f} trend_ms={trend_ms:.1f} statements_50={statements_50} "
            f"statements_{accounts}={statements_all} ratio_warm_to_50={warm_ms / warm_50_ms:.2f}"
        )
    finally:
        await db.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--items", type=int, default=2000, help="contacts and decisions a year per account")
    parser.add_argument("--postgres", default=os.environ.get("KAMBOT_TEST_POSTGRES_URL", ""))
    arguments = parser.parse_args()
    if not arguments.postgres:
        sys.exit("give --postgres URL (or KAMBOT_TEST_POSTGRES_URL): a server where a database may be created")
    async with fresh_database(arguments.postgres) as url:
        print(await measure(url, arguments.accounts, arguments.items))


if __name__ == "__main__":
    asyncio.run(main())
