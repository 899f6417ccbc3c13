"""Telemetry: a contact turn's spans, what reaches Application Insights, and nothing at all in local mode."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from bot.admin.graph_access import graph_gateway
from bot.settings import Settings
from bot.telemetry import instrument_libraries, uninstrument_libraries
from tests.support.fakes.appinsights import AppInsightsFake, base, properties
from tests.support.fakes.connector import ConnectorFake
from tests.support.fakes.graph import FakeGraphCredential, GraphFake
from tests.support.fakes.jwks import ISSUER, IdentityFake
from tests.support.fakes.loopback import free_port
from tests.support.flows import GOOD_INPUT, action_data, invoke_card, open_form
from tests.support.harness import RunningBot, local_settings, migrate_and_seed
from tests.support.teams import CONTOSO_CHANNEL, TENANT_ID, Teams
from tests.support.telemetry import Collected, attribute_values, collected, start_serve, stop, until_alive

APP_ID = "11111111-2222-3333-4444-555555555555"
SAID = "The customer mentioned a confidential merger with Northwind."
WRITTEN = [value for value in GOOD_INPUT.values() if len(value) > 20]  # the contact's free text


@pytest.fixture
def telemetry() -> Iterator[Collected]:
    """Spans and metrics in memory; aiohttp instrumented as `kambot serve` does it, before the app is built."""
    kept = collected()
    instrument_libraries()
    kept.clear()
    yield kept
    uninstrument_libraries()


@pytest.fixture
async def traced_bot(telemetry: Collected, sqlite_url: str, connector: ConnectorFake) -> AsyncIterator[RunningBot]:
    await migrate_and_seed(sqlite_url)
    running = await RunningBot(local_settings(sqlite_url), connector).start()
    yield running
    await running.stop()


@pytest.fixture
async def ingestion() -> AsyncIterator[AppInsightsFake]:
    fake = await AppInsightsFake().start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="module")
def identity_env(identity: IdentityFake) -> dict[str, str]:
    """A bot with an app id (not local mode) whose tokens come from the identity fake, as in test_auth.py."""
    return {
        "KAMBOT_APP_ID": APP_ID,
        "KAMBOT_APP_PASSWORD": "test-secret",
        "KAMBOT_APP_TYPE": "MultiTenant",
        "KAMBOT_ALLOWED_TENANT_IDS": TENANT_ID,
        "KAMBOT_AUTH_OPENID_METADATA_URL": identity.metadata_url,
        "KAMBOT_AUTH_TOKEN_ISSUER": ISSUER,
        "KAMBOT_AUTH_LOGIN_URL": identity.login_url,
        "KAMBOT_AUTH_OAUTH_SCOPE": "https://api.botframework.test/.default",
        "REQUESTS_CA_BUNDLE": str(identity.ca_bundle),
    }


def one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [span for span in spans if span.name == name]
    assert len(found) == 1, f"{name}: {[span.name for span in spans]}"
    return found[0]


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def statements_in(spans: list[ReadableSpan], trace_of: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if "db.statement" in attributes(s) and s.context.trace_id == trace_of.context.trace_id]


def descends_from(span: ReadableSpan, ancestor: ReadableSpan, spans: list[ReadableSpan]) -> bool:
    by_id = {s.context.span_id: s for s in spans}
    parent = span.parent
    while parent is not None:
        if parent.span_id == ancestor.context.span_id:
            return True
        above = by_id.get(parent.span_id)
        parent = above.parent if above is not None else None
    return False


async def test_a_contact_turn_is_one_trace_and_its_channel_post_another_with_ids_never_text(
    telemetry: Collected, traced_bot: RunningBot, connector: ConnectorFake
) -> None:
    form, _ = await open_form(traced_bot)
    telemetry.clear()
    connector.fail_next(429, retry_after=0.05, conversation=CONTOSO_CHANNEL)  # the channel post is tried twice
    submit = traced_bot.teams.execute(action_data(form) | GOOD_INPUT)
    invoke_card(await traced_bot.send(submit))
    await traced_bot.settle()
    spans = telemetry.spans()

    turn = one(spans, "turn invoke")
    assert attributes(turn) == {
        "kambot.activity_type": "invoke",
        "kambot.invoke_name": "adaptiveCard/action",
        "kambot.activity_id": submit["id"],
        "kambot.conversation_id": "a:personal-alex",
        "kambot.tenant_id": TENANT_ID,
        "kambot.verb": "contact.save",
    }
    request = next(s for s in spans if s.kind == SpanKind.SERVER and s.context.trace_id == turn.context.trace_id)
    assert turn.parent is not None and turn.parent.span_id == request.context.span_id, "the turn inside its request"
    assert 200 in attributes(request).values(), "the request's status"
    statements = statements_in(spans, turn)
    assert any(str(attributes(s)["db.statement"]).startswith("INSERT INTO contacts") for s in statements)
    assert all(descends_from(s, turn, spans) for s in statements), "the turn's statements are the turn's children"

    posts = [s for s in spans if s.name == "outbox send"]
    post = next(s for s in posts if attributes(s).get("kambot.outbox_kind") == "contact.logged")
    assert post.parent is None and post.kind == SpanKind.CONSUMER, "the sender works outside the turn"
    assert attributes(post)["kambot.conversation_id"] == CONTOSO_CHANNEL
    assert attributes(post)["kambot.outcome"] == "sent" and attributes(post)["kambot.attempts"] == 1
    assert isinstance(attributes(post)["kambot.outbox_id"], int)
    assert [(e.name, dict(e.attributes or {}).get("kambot.status")) for e in post.events] == [("retry", 429)]
    assert any(str(attributes(s)["db.statement"]).startswith("UPDATE outbox") for s in statements_in(spans, post))

    leaked = [value for value in attribute_values(spans) for text in WRITTEN if text in value]
    assert leaked == [], "no span, attribute or event carries what the user wrote"

    durations = telemetry.points("kambot.turn.duration")
    assert any(labels == {"kambot.activity_type": "invoke"} and point.count >= 1 for labels, point in durations)
    sends = telemetry.points("kambot.outbox.sends")
    wanted = {"kambot.outbox_kind": "contact.logged", "kambot.outcome": "sent"}
    assert any(labels == wanted and point.value >= 1 for labels, point in sends)
    retries = telemetry.points("kambot.connector.retries")
    assert any(labels == {"kambot.status": "429"} and point.value >= 1 for labels, point in retries)


async def test_a_command_is_named_by_its_key_and_free_text_not_at_all(
    telemetry: Collected, traced_bot: RunningBot
) -> None:
    await traced_bot.send(traced_bot.teams.message("help"))
    await traced_bot.send(traced_bot.teams.message(SAID))
    turns = [s for s in telemetry.spans() if s.name == "turn message"]
    assert [attributes(s).get("kambot.command") for s in turns] == ["command.help", None]
    assert not [value for value in attribute_values(telemetry.spans()) if "Northwind" in value]


async def test_a_graph_call_is_one_span_with_each_failed_try_and_is_counted_by_outcome(telemetry: Collected) -> None:
    graph = await GraphFake().start()
    try:
        graph.add_team("team-kam")
        graph.fail(429, path_contains="/teams/team-kam/channels")  # answered with Retry-After: 1
        settings = Settings(_env_file=None, graph_base_url=f"{graph.url}/v1.0")  # type: ignore[call-arg]
        channels = await graph_gateway(settings, FakeGraphCredential()).channels("team-kam")
    finally:
        await graph.stop()
    assert [channel.name for channel in channels] == ["General"]

    call = attributes(one(telemetry.spans(), "graph team"))
    assert call["kambot.graph.resource"] == "team:team-kam" and call["kambot.graph.write"] is False
    assert call["kambot.attempts"] == 2 and call["kambot.graph.throttled"] is True
    events = one(telemetry.spans(), "graph team").events
    assert [(e.name, dict(e.attributes or {}).get("kambot.status")) for e in events] == [("failed", 429)]
    counted = telemetry.points("kambot.graph.calls")
    assert any(labels == {"kambot.outcome": "ok", "kambot.graph.throttled": True} for labels, _ in counted)


async def test_kambot_serve_sends_its_requests_and_dependencies_to_application_insights(
    sqlite_url: str,
    connector: ConnectorFake,
    ingestion: AppInsightsFake,
    identity: IdentityFake,
    identity_env: dict[str, str],
) -> None:
    await migrate_and_seed(sqlite_url)
    connector.require_token = identity.issued
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **identity_env,
        "KAMBOT_DATABASE_URL": sqlite_url,
        "APPLICATIONINSIGHTS_CONNECTION_STRING": ingestion.connection_string,
        "OTEL_TRACES_SAMPLER": "microsoft.fixed_percentage",  # every trace, the way docs/admin.md tells
        "OTEL_TRACES_SAMPLER_ARG": "1.0",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    message = Teams(connector.url).message(SAID)
    process = start_serve(port, env)
    try:
        await until_alive(process, url)
        token = identity.channel_token(APP_ID, message["serviceUrl"])
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{url}/api/messages", json=message, headers={"Authorization": f"Bearer {token}"}
            ) as response:
                assert response.status in (200, 201)
        await connector.wait_for(lambda fake: bool(fake.in_conversation("a:personal-alex")))
        await ingestion.wait_for(
            lambda fake: any(properties(e).get("kambot.activity_id") == message["id"] for e in fake.envelopes)
        )
    finally:
        output = await stop(process)
    assert process.returncode == 0, output
    assert "telemetry: traces and metrics go to Application Insights" in output

    turn = next(e for e in ingestion.of_type("RemoteDependency") if properties(e).get("kambot.activity_id"))
    assert base(turn)["name"] == "turn message" and turn["tags"]["ai.cloud.role"] == "kambot-serve"
    assert properties(turn)["kambot.conversation_id"] == "a:personal-alex"
    assert properties(turn)["kambot.tenant_id"] == TENANT_ID
    operation = turn["tags"]["ai.operation.id"]
    requests = [e for e in ingestion.of_type("Request") if base(e)["name"] == "POST /api/messages"]
    assert [e["tags"]["ai.operation.id"] for e in requests] == [operation], "the request and its turn: one operation"
    answers = [e for e in ingestion.of_type("RemoteDependency") if "/v3/conversations/" in base(e).get("data", "")]
    assert [e["tags"]["ai.operation.id"] for e in answers] == [operation], "the answer to the Bot Connector too"
    assert not [e for e in ingestion.of_type("Request") if "healthz" in base(e)["name"]], "health probes are left out"
    assert not ingestion.of_type("Message"), "logs stay on stdout"
    assert "Northwind" not in json.dumps(ingestion.envelopes), "what the user wrote stays out"
    metrics = {metric["name"] for e in ingestion.of_type("Metric") for metric in base(e)["metrics"]}
    assert "kambot.turn.duration" in metrics, "flushed when the process stops"


async def test_in_local_mode_nothing_is_sent_even_with_a_connection_string(
    sqlite_url: str, connector: ConnectorFake, ingestion: AppInsightsFake
) -> None:
    await migrate_and_seed(sqlite_url)
    port = free_port()
    env = {
        "KAMBOT_DATABASE_URL": sqlite_url,
        "APPLICATIONINSIGHTS_CONNECTION_STRING": ingestion.connection_string,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    process = start_serve(port, env)
    try:
        await until_alive(process, f"http://127.0.0.1:{port}")
        async with aiohttp.ClientSession() as http:
            async with http.post(f"http://127.0.0.1:{port}/api/messages", json=Teams(connector.url).message("help")):
                pass
        await connector.wait_for(lambda fake: bool(fake.in_conversation("a:personal-alex")))
    finally:
        output = await stop(process)
    assert process.returncode == 0, output
    assert "telemetry: off in local mode" in output
    assert ingestion.envelopes == [] and ingestion.live_requests == 0, "not even at shutdown, when all is flushed"


async def test_a_connection_string_azure_monitor_cannot_use_stops_start_up_with_one_line(
    sqlite_url: str, identity_env: dict[str, str]
) -> None:
    env = {
        **identity_env,
        "KAMBOT_DATABASE_URL": sqlite_url,
        "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=abc",
    }
    process = start_serve(free_port(), env)
    output, _ = await asyncio.to_thread(process.communicate, timeout=60)
    assert process.returncode == 2, output
    assert "APPLICATIONINSIGHTS_CONNECTION_STRING cannot be used: Invalid instrumentation key" in output
    assert "Traceback" not in output
