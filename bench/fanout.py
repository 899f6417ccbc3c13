"""Proactive fan-out: N cards to N users by three `kambot worker` processes sharing PostgreSQL.

The connector fake enforces the Bot Connector's limit of 50 requests per second per
tenant (429 beyond it); the three workers split it 17 + 17 + 16. The baseline is the
least time that limit allows for the messages: N / 50 seconds. Last line:
`fanout messages=N seconds=S bound_seconds=B ratio_to_bound=R lost=L duplicates=D`
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.event_loop import run as run_on_loop  # noqa: E402
from tests.support.fakes.connector import ConnectorFake  # noqa: E402
from tests.support.harness import fresh_database  # noqa: E402
from tests.support.workers import deliveries, owe_weekly_nudges, start_worker  # noqa: E402

TENANT_LIMIT = 50
SHARES = ("17", "17", "16")
DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def progress(done: int, total: int, started: float) -> None:
    elapsed = time.monotonic() - started
    eta = elapsed / done * (total - done) if done else 0.0
    bar = "#" * (30 * done // total)
    print(f"\r[{bar:<30}] {done}/{total} sent, {elapsed:5.1f} s, ETA {eta:5.1f} s", end="", file=sys.stderr, flush=True)


async def main(messages: int, server: str) -> None:
    connector = await ConnectorFake(per_tenant_limit=(TENANT_LIMIT, 1.0)).start()
    async with fresh_database(server) as url:
        await owe_weekly_nudges(url, connector, messages)
        started = time.monotonic()
        workers = [start_worker(url, connector_sends_per_second=share) for share in SHARES]
        try:
            while (done := deliveries(connector, messages).delivered) < messages:
                progress(done, messages, started)
                if any(w.poll() is not None for w in workers):
                    raise SystemExit("a worker stopped: " + "".join(w.communicate()[0] or "" for w in workers))
                await asyncio.sleep(0.5)
            seconds = time.monotonic() - started
            progress(messages, messages, started)
            print(file=sys.stderr)
            await asyncio.sleep(2)  # a duplicate would show now
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                await asyncio.to_thread(worker.wait, 30)
    await connector.stop()
    result = deliveries(connector, messages)
    bound = messages / TENANT_LIMIT
    print(f"connector answered 429 {connector.throttled} times", file=sys.stderr)
    print(
        f"fanout messages={messages} seconds={seconds:.1f} bound_seconds={bound:.1f} "
        f"ratio_to_bound={seconds / bound:.3f} lost={result.lost} duplicates={result.duplicates}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--server", default=os.environ.get("KAMBOT_TEST_POSTGRES_URL", DEFAULT_SERVER))
    arguments = parser.parse_args()
    run_on_loop(main(arguments.messages, arguments.server))
