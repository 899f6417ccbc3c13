"""Provision N key accounts into one team against the Graph fake with Microsoft's documented limits.

Last line:
`provision accounts=N requests=R seconds=S bound_seconds=B ratio_to_bound=S/B duplicates=D throttled=T`
where B is the least time the limits (4 requests per second on one team or channel,
30 writes per second per tenant) allow for the requests made.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.admin.provisioning import build_provisioner  # noqa: E402
from bot.event_loop import run as run_on_loop  # noqa: E402
from kam.account_list import AccountRow, Member, apply_rows  # noqa: E402
from kam.migrate import upgrade  # noqa: E402
from kam.models import Role, Tier  # noqa: E402
from kam.storage import Database  # noqa: E402
from tests.support.fakes.graph import FakeGraphCredential, GraphFake  # noqa: E402
from tests.support.harness import local_settings  # noqa: E402


async def provisioned(accounts: int, concurrency: int) -> tuple[GraphFake, float, list[tuple[str, str]]]:
    url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='kambot-bench-')) / 'kambot.db'}"
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    manager = Member("megan@contoso.test", Role.MANAGER, None)
    rows = [AccountRow(i, f"Key Account {i:04}", Tier.KEY_ACCOUNT, (manager,), (), (), False) for i in range(accounts)]
    async with db.transaction() as session:
        await apply_rows(session, rows)
    await db.close()

    graph = await GraphFake().start()
    graph.add_team("kam-team")
    settings = local_settings(
        url,
        kam_team_ids="kam-team",
        teams_app_id="kambot-app",
        public_base_url="https://kambot.contoso.test",
        graph_base_url=f"{graph.url}/v1.0",
        provision_concurrency=concurrency,
    )
    provisioner = build_provisioner(settings, credential=FakeGraphCredential())
    done = 0

    def progress(completed: int, total: int) -> None:
        nonlocal done
        if total > 1 and (completed - done >= max(1, total // 10) or completed == total):
            done = completed
            print(f"  {completed}/{total} accounts", file=sys.stderr)

    provisioner.on_progress = progress
    start = time.perf_counter()
    summary = await provisioner.run()
    seconds = time.perf_counter() - start
    await provisioner.db.close()
    await graph.stop()
    return graph, seconds, summary.failed


async def main(accounts: int, concurrency: int) -> None:
    # msgraph-sdk imports its request builders on first use (seconds of one-off start-up):
    # a one-account run on its own fake warms that up outside the measurement.
    await provisioned(1, concurrency)
    graph, seconds, failed = await provisioned(accounts, concurrency)
    assert not failed, failed

    names = Counter(c.name.lower() for c in graph.teams["kam-team"].channels.values())
    tabs = Counter(
        (channel.id, tab["configuration"]["entityId"])
        for channel in graph.teams["kam-team"].channels.values()
        for tab in channel.tabs
    )
    duplicates = sum(n - 1 for n in names.values()) + sum(n - 1 for n in tabs.values())
    bound = graph.bound_seconds()
    print(
        f"provision accounts={accounts} requests={len(graph.calls)} seconds={seconds:.1f} bound_seconds={bound:.1f} "
        f"ratio_to_bound={seconds / bound:.3f} duplicates={duplicates} throttled={graph.throttled()}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=24)
    arguments = parser.parse_args()
    run_on_loop(main(arguments.accounts, arguments.concurrency))
