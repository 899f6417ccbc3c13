"""Cost of kambot's turns against a stock botbuilder echo bot, measured side by side in one run.

Both bots run on CloudAdapter over aiohttp on loopback and answer through the
same Bot Connector fake; the machine's noise hits both alike, so the ratio is
what to read. Last line:
`turn help_ms=H log_contact_ms=L echo_ms=E help_ratio=R1 log_contact_ratio=R2`
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web
from botbuilder.core import ActivityHandler, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.event_loop import run as run_on_loop  # noqa: E402
from tests.support.fakes.connector import ConnectorFake  # noqa: E402
from tests.support.fakes.loopback import serve_on_loopback  # noqa: E402
from tests.support.flows import inputs_of, texts_in  # noqa: E402
from tests.support.harness import RunningBot, local_settings, migrate_and_seed  # noqa: E402


class EchoBot(ActivityHandler):
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity(f"You said {turn_context.activity.text}")


async def start_echo() -> tuple[web.AppRunner, str]:
    config = type("Config", (), {"APP_ID": "", "APP_PASSWORD": "", "APP_TYPE": "MultiTenant", "APP_TENANTID": ""})()
    adapter, bot = CloudAdapter(ConfigurationBotFrameworkAuthentication(config)), EchoBot()

    async def messages(request: web.Request) -> web.Response:
        return await adapter.process(request, bot) or web.Response(status=201)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    runner, port = await serve_on_loopback(app)
    return runner, f"http://127.0.0.1:{port}"


async def timed(call, rounds: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


async def main(rounds: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="kambot-bench-"))
    url = f"sqlite+aiosqlite:///{folder / 'kambot.db'}"
    await migrate_and_seed(url)
    connector = await ConnectorFake(tenant_windows=(), thread_windows=()).start()  # as in turns.py: no pacing here
    kambot = await RunningBot(local_settings(url, outbox_sweep_seconds=3600), connector).start()
    echo_runner, echo_url = await start_echo()
    teams = kambot.teams

    async def echo() -> None:
        assert kambot._http is not None
        async with kambot._http.post(f"{echo_url}/api/messages", json=teams.message("hello")) as response:
            assert response.status in (200, 201)

    async def help_turn() -> None:
        assert (await kambot.send(teams.message("help"))).status in (200, 201)

    await kambot.send(teams.message("log contact", user="isaiah"))
    form = [r for r in connector.in_conversation("a:personal-isaiah") if r.cards][-1].cards[0]
    inputs = {
        "customer_people": "Maria Lopez",
        "kind": "call",
        "met_on": inputs_of(form)["met_on"]["value"],
        "summary": "Volumes",
    }

    async def log_contact() -> None:
        data = dict(form["actions"][0]["data"]) | inputs | {"card_id": f"{time.perf_counter_ns():032x}"[-32:]}
        sealed = kambot.reseal(data, "isaiah")  # a new form of Isaiah's, as kambot would issue it (~20 µs)
        reply = await kambot.send(teams.execute(sealed, user="isaiah"))
        assert reply.status == 200 and reply.body["type"].endswith("card.adaptive"), reply
        assert "Contact logged" in texts_in(reply.body["value"]), "a stored contact, not the form again"
        await kambot.settle()

    for call in (echo, help_turn, log_contact):
        await timed(call, 10)
    echo_ms, help_ms, log_ms = [], [], []
    for _ in range(3):
        echo_ms.append(await timed(echo, rounds))
        help_ms.append(await timed(help_turn, rounds))
        log_ms.append(await timed(log_contact, rounds))
    e, h, lc = statistics.median(echo_ms), statistics.median(help_ms), statistics.median(log_ms)
    await kambot.stop()
    await echo_runner.cleanup()
    await connector.stop()
    print(
        f"turn help_ms={h:.2f} log_contact_ms={lc:.2f} echo_ms={e:.2f} help_ratio={h / e:.2f} log_contact_ratio={lc / e:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=100, help="requests per measurement (three measurements each)")
    run_on_loop(main(parser.parse_args().rounds))
