"""Proactive fan-out: N cards to N users by 1, 3 and 6 `kambot worker` processes sharing PostgreSQL.

The connector fake enforces the Bot Connector's limits (50 requests per second per tenant,
and per conversation 7 a second, 8 in 2 seconds, 60 in 30 seconds, 1,800 an hour) by
answering 429. The workers share them through the database; none is told a share. Once a
third of the cards have arrived, one worker is killed and a new one is started. The baseline
is the least time the tenant's limit allows for the cards: N / 50 seconds.

"Killed" is `kill`'s own signal, SIGTERM, which a platform sends an instance it scales in: the worker
finishes the cards it is posting, gives back the rest at once, and exits. `--signal kill` kills it
outright (SIGKILL, a crash) instead: what it had posted but not yet recorded goes out a second time
(at most KAMBOT_OUTBOX_IN_FLIGHT, 8: the Bot Connector has no idempotency key), and what it held comes
back when its lease runs out.

One line per worker count, then the last line, each figure the worst of the three counts:
`fanout messages=N seconds=S bound_seconds=B ratio_to_bound=R lost=L duplicates=D throttled=T`
(T: the share of sends answered 429).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.event_loop import run as run_on_loop  # noqa: E402
from tests.support.fakes.connector import TENANT_WINDOWS, ConnectorFake  # noqa: E402
from tests.support.harness import fresh_database  # noqa: E402
from tests.support.workers import deliveries, owe_weekly_digests, start_worker  # noqa: E402

TENANT_LIMIT = TENANT_WINDOWS[0][0]
WORKER_COUNTS = (1, 3, 6)
# A killed worker's cards come back when their lease runs out; living workers renew theirs.
LEASE_SECONDS = "10"
DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Run:
    workers: int
    seconds: float
    bound: float
    lost: int
    duplicates: int
    throttled: float

    @property
    def ratio(self) -> float:
        return self.seconds / self.bound


def progress(label: str, done: int, total: int, started: float) -> None:
    elapsed = time.monotonic() - started
    eta = elapsed / done * (total - done) if done else 0.0
    bar = "#" * (30 * done // total)
    print(
        f"\r{label} [{bar:<30}] {done}/{total} sent, {elapsed:5.1f} s, ETA {eta:5.1f} s",
        end="",
        file=sys.stderr,
        flush=True,
    )


def stop_all(workers: list[subprocess.Popen[str]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(30)


async def fan_out(messages: int, server: str, count: int, kill: signal.Signals) -> Run:
    connector = await ConnectorFake().start()
    label = f"{count} worker{'s' if count > 1 else ''}"
    async with fresh_database(server) as url:
        await owe_weekly_digests(url, connector, messages)
        started = time.monotonic()
        workers = [start_worker(url, outbox_lease_seconds=LEASE_SECONDS) for _ in range(count)]
        replaced = False
        try:
            while (done := deliveries(connector, messages).delivered) < messages:
                progress(label, done, messages, started)
                if not replaced and done >= messages // 3:
                    workers[0].send_signal(kill)
                    workers.append(start_worker(url, outbox_lease_seconds=LEASE_SECONDS))
                    replaced = True
                if any(w.poll() not in (None, 0, -signal.SIGKILL) for w in workers):
                    raise SystemExit("a worker stopped: " + "".join(w.communicate()[0] or "" for w in workers))
                await asyncio.sleep(0.2)
            seconds = time.monotonic() - started
            progress(label, messages, messages, started)
            print(file=sys.stderr)
            await asyncio.sleep(2)  # a duplicate would show now
        finally:
            await asyncio.to_thread(stop_all, workers)
    await connector.stop()
    result = deliveries(connector, messages)
    sends = sum(1 for r in connector.recorded if r.method == "send") + connector.throttled
    return Run(count, seconds, messages / TENANT_LIMIT, result.lost, result.duplicates, connector.throttled / sends)


def line(messages: int, seconds: float, bound: float, lost: int, duplicates: int, throttled: float) -> str:
    return (
        f"fanout messages={messages} seconds={seconds:.1f} bound_seconds={bound:.1f} "
        f"ratio_to_bound={seconds / bound:.3f} lost={lost} duplicates={duplicates} throttled={throttled:.4f}"
    )


async def main(messages: int, server: str, kill: signal.Signals) -> None:
    runs = []
    for count in WORKER_COUNTS:
        run = await fan_out(messages, server, count, kill)
        runs.append(run)
        print(f"workers={count} " + line(messages, run.seconds, run.bound, run.lost, run.duplicates, run.throttled))
    slowest = max(runs, key=lambda r: r.ratio)
    print(
        line(
            messages,
            slowest.seconds,
            slowest.bound,
            max(r.lost for r in runs),
            max(r.duplicates for r in runs),
            max(r.throttled for r in runs),
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--server", default=os.environ.get("KAMBOT_TEST_POSTGRES_URL", DEFAULT_SERVER))
    parser.add_argument("--signal", choices=("term", "kill"), default="term", help="how the worker is killed")
    arguments = parser.parse_args()
    kill = signal.SIGTERM if arguments.signal == "term" else signal.SIGKILL
    run_on_loop(main(arguments.messages, arguments.server, kill))
