"""Contact submissions at rising concurrency, against a stock botbuilder echo bot measured in the same run.

kambot (store + outbox + channel post) and an unmodified botbuilder echo bot (CloudAdapter
on aiohttp) answer through the same loopback Bot Connector fake. A turn's latency is its
HTTP round trip: the contact stored with its outbox rows and the logged card returned; the
channel post goes out right after, paced under the Bot Connector's limits (one channel takes
60 posts per 30 seconds, so at high rates posts wait in the outbox; the count is printed). Last line:
`turns rate=N p50_ms=A p99_ms=B ratio_to_echo=R` — the highest rate sustained with p99
under 100 ms, its latencies, and kambot's median over the echo's at concurrency 1 (the median of
15 alternating rounds of `--turns`/5 each).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from bench.turn import start_echo  # noqa: E402
from bot.event_loop import run as run_on_loop  # noqa: E402
from kam.models import OutboxMessage, OutboxStatus  # noqa: E402
from tests.support.fakes.connector import ConnectorFake  # noqa: E402
from tests.support.flows import inputs_of, texts_in  # noqa: E402
from tests.support.harness import RunningBot, fresh_database, local_settings, migrate_and_seed  # noqa: E402

P99_TARGET_MS = 100.0
ROUNDS = 15
DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run_at(call: Callable[[], Awaitable[None]], concurrency: int, turns: int) -> tuple[float, list[float]]:
    """`turns` calls, `concurrency` at a time: turns per second and each turn's milliseconds."""
    samples: list[float] = []
    queue = iter(range(turns))

    async def client() -> None:
        for _ in queue:
            start = time.perf_counter()
            await call()
            samples.append((time.perf_counter() - start) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return turns / (time.perf_counter() - started), samples


@contextlib.asynccontextmanager
async def database(kind: str, server: str) -> AsyncIterator[str]:
    if kind == "postgresql":
        async with fresh_database(server) as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='kambot-bench-')) / 'kambot.db'}"


async def outbox_waiting(bot: RunningBot) -> int:
    async with bot.db.transaction() as session:
        pending = OutboxMessage.status == OutboxStatus.PENDING
        return int(await session.scalar(select(func.count()).select_from(OutboxMessage).where(pending)) or 0)


async def main(kind: str, server: str, turns: int, levels: list[int]) -> None:
    # No rate limits here: the stock echo bot replies at every turn without pacing, and what is measured is
    # a turn's cost (bench/fanout.py measures sending under the Bot Connector's limits).
    connector = await ConnectorFake(tenant_windows=(), thread_windows=()).start()
    async with database(kind, server) as url:
        await migrate_and_seed(url)
        kambot = await RunningBot(local_settings(url, outbox_sweep_seconds=3600), connector).start()
        echo_runner, echo_url = await start_echo()
        teams = kambot.teams
        await kambot.send(teams.message("log contact", user="isaiah"))
        form = [r for r in connector.in_conversation("a:personal-isaiah") if r.cards][-1].cards[0]
        inputs = {"customer_people": "Maria Lopez", "kind": "call", "met_on": inputs_of(form)["met_on"]["value"]}
        # Forms are sealed for whom they were issued (as kambot sends them): each submission is a new
        # form of Isaiah's, sealed before the clock runs.
        base = dict(form["actions"][0]["data"]) | inputs
        sealed = iter(
            [
                kambot.reseal(base | {"summary": f"Volumes {n}", "card_id": f"{n:032x}"}, "isaiah")
                for n in range(ROUNDS * turns + sum(turns * c // 2 + turns for c in levels) + 200)
            ]
        )

        async def echo() -> None:
            assert kambot._http is not None
            async with kambot._http.post(f"{echo_url}/api/messages", json=teams.message("hello")) as response:
                assert response.status in (200, 201)

        async def contact() -> None:
            reply = await kambot.send(teams.execute(next(sealed), user="isaiah"))
            assert reply.status == 200 and reply.body["type"].endswith("card.adaptive"), reply
            assert "Contact logged" in texts_in(reply.body["value"]), "a stored contact, not the form again"

        for call in (echo, contact):  # warm up both
            await run_at(call, 1, 20)
        await kambot.settle()
        # Short alternating rounds: the machine's speed drifts by tens of percent within seconds,
        # and each round's ratio compares the two bots under the same drift.
        echo_medians, contact_medians, ratios = [], [], []
        for _ in range(ROUNDS):
            echo_medians.append(statistics.median((await run_at(echo, 1, turns // 5))[1]))
            contact_medians.append(statistics.median((await run_at(contact, 1, turns // 5))[1]))
            ratios.append(contact_medians[-1] / echo_medians[-1])
        ratio = statistics.median(ratios)
        print(
            f"concurrency 1: kambot {statistics.median(contact_medians):.2f} ms, "
            f"echo {statistics.median(echo_medians):.2f} ms",
            file=sys.stderr,
        )
        best = (0.0, 0.0, 0.0)
        for concurrency in levels:
            rate, samples = await run_at(contact, concurrency, turns * concurrency // 2 + turns)
            p50, p99 = statistics.median(samples), percentile(samples, 0.99)
            print(f"concurrency {concurrency}: {rate:.0f} turns/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms", file=sys.stderr)
            if p99 < P99_TARGET_MS and rate > best[0]:
                best = (rate, p50, p99)
        owed = await outbox_waiting(kambot)
        print(
            f"channel posts owed at the end: {owed} (sent at the Bot Connector's pace: 60 per 30 s in one channel)",
            file=sys.stderr,
        )
        await kambot.stop()
        await echo_runner.cleanup()
    await connector.stop()
    print(f"turns rate={best[0]:.0f} p50_ms={best[1]:.1f} p99_ms={best[2]:.1f} ratio_to_echo={ratio:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--server", default=os.environ.get("KAMBOT_TEST_POSTGRES_URL", DEFAULT_SERVER))
    parser.add_argument("--turns", type=int, default=100, help="turns per measurement at concurrency 1")
    parser.add_argument("--levels", default="1,2,4,8,16", help="concurrency levels")
    arguments = parser.parse_args()
    levels = [int(level) for level in arguments.levels.split(",")]
    run_on_loop(main(arguments.database, arguments.server, arguments.turns, levels))
