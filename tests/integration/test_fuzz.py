"""Property-based fuzzing of what Teams (or anyone) can POST to /api/messages, against the running app.

Whatever arrives: never a 5xx, never a stack trace in front of a user, and
nothing stored from input that was rejected.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from kam.models import Account, Acknowledgement, Person, PriceAction, Review
from tests.support.fakes.background import BackgroundLoop
from tests.support.fakes.connector import ConnectorFake
from tests.support.flows import chat_cards, inputs_of
from tests.support.harness import RunningBot, local_settings, migrate_and_seed
from tests.support.teams import CONTOSO_CHANNEL, USERS, Teams

# Hundreds of turns a second go into a handful of conversations here, which no person does; the
# conversations' windows are what tests/integration/test_pacing.py and test_workers.py check.
UNTHROTTLED: tuple[tuple[int, float], ...] = ()

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


@dataclass
class Target:
    loop: BackgroundLoop
    bot: RunningBot
    connector: ConnectorFake

    def post(self, body: bytes | dict[str, Any], content_type: str = "application/json") -> requests.Response:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return requests.post(
            f"{self.bot.url}/api/messages", data=data, headers={"Content-Type": content_type}, timeout=30
        )

    def contacts(self) -> int:
        return self.loop.run(self.bot.contact_count())

    def settle(self) -> None:
        self.loop.run(self.bot.settle())


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    url = f"sqlite+aiosqlite:///{Path(tmp_path_factory.mktemp('fuzz')) / 'kambot.db'}"
    loop = BackgroundLoop()

    async def start() -> tuple[RunningBot, ConnectorFake]:
        await migrate_and_seed(url)
        connector = await ConnectorFake(thread_windows=UNTHROTTLED).start()
        return await RunningBot(local_settings(url), connector).start(), connector

    bot, connector = loop.run(start())
    yield Target(loop, bot, connector)
    loop.run(bot.stop())
    loop.run(connector.stop())
    loop.close()


def bot_output(connector: ConnectorFake) -> str:
    return json.dumps([r.activity for r in connector.recorded])


def assert_no_leak(target: Target, response: requests.Response) -> None:
    assert response.status_code < 500, response.text
    for text in (response.text, bot_output(target.connector)):
        assert "Traceback" not in text and 'File "' not in text


@FUZZ
@given(body=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_body_gets_a_4xx_or_an_answer_never_a_crash(target: Target, body: bytes) -> None:
    before = target.contacts()
    response = target.post(body)
    assert_no_leak(target, response)
    assert target.contacts() == before


@FUZZ
@given(
    kind=st.sampled_from(["message", "invoke", "conversationUpdate", "installationUpdate", "event", "typing"])
    | st.text(max_size=12),
    user=st.sampled_from(sorted(USERS)),
    where=st.sampled_from(["personal", CONTOSO_CHANNEL, "team-id", "elsewhere"]),
    text=st.none()
    | st.text(max_size=60)
    | st.sampled_from(["help", "log contact", "accounts", "<at>kambot</at> help"]),
    name=st.none()
    | st.sampled_from(["adaptiveCard/action", "composeExtension/query", "task/fetch"])
    | st.text(max_size=20),
    value=json_values,
    channel_data=json_values,
    locale=st.none() | st.sampled_from(["en-US", "de-DE", "xx", ""]) | st.text(max_size=8),
)
def test_teams_shaped_activities_with_random_fields_are_answered_safely(
    target: Target,
    kind: str,
    user: str,
    where: str,
    text: str | None,
    name: str | None,
    value: Any,
    channel_data: Any,
    locale: str | None,
) -> None:
    activity = Teams(target.connector.url).message("x", user=user, where=where)
    activity.update({"type": kind, "text": text, "name": name, "value": value, "locale": locale})
    if isinstance(channel_data, dict):
        activity["channelData"] = {**activity["channelData"], **channel_data}
    before = target.contacts()
    response = target.post(activity)
    target.settle()
    assert_no_leak(target, response)
    assert target.contacts() == before, "a random activity is never a valid, complete contact form"


FORM_FIELDS = [
    "stakeholders",
    "customer_people",
    "met_on",
    "kind",
    "participants",
    "summary",
    "customer_asked",
    "we_committed",
    "next_steps",
    "confidential",
    "account_id",
    "v",
    "issued",
    "card_id",
]


@FUZZ
@given(
    changes=st.dictionaries(st.sampled_from(FORM_FIELDS), json_values | st.text(max_size=3000), max_size=5),
    user=st.sampled_from(["alex", "lynne", "isaiah"]),
)
def test_card_submissions_with_random_values_store_only_valid_contacts(
    target: Target, changes: dict[str, Any], user: str
) -> None:
    teams = Teams(target.connector.url)
    target.post(teams.message("log contact", where=CONTOSO_CHANNEL))
    target.settle()
    form = chat_cards(target.connector, "alex")[-1]
    today = inputs_of(form)["met_on"]["value"]
    data = (
        dict(form["actions"][0]["data"])
        | {"summary": "ok", "customer_people": "Hanna", "kind": "call", "met_on": today}
        | changes
    )
    before = target.contacts()
    response = target.post(teams.execute(data, user=user))
    target.settle()
    assert_no_leak(target, response)
    answer = response.json()
    logged = answer["type"] == "application/vnd.microsoft.card.adaptive" and "Contact logged" in json.dumps(
        answer["value"]
    )
    assert target.contacts() == before + (1 if logged else 0)
    if user == "isaiah":
        assert not logged, "someone off the account team never logs for it"


def stored_by_outsiders(target: Target) -> tuple[int, int, int, int]:
    """What Lynne, on no account team, could have stored: acknowledgements, account rules, price actions, reviews."""

    async def count() -> tuple[int, int, int, int]:
        async with target.bot.db.transaction() as session:
            acks = await session.scalar(
                select(func.count()).select_from(Acknowledgement).join(Person).where(Person.name == "Lynne Robbins")
            )
            rules = await session.scalar(select(func.count()).select_from(Account).where(Account.rules.is_not(None)))
            prices = await session.scalar(select(func.count()).select_from(PriceAction))
            reviews = await session.scalar(select(func.count()).select_from(Review))
            return int(acks or 0), int(rules or 0), int(prices or 0), int(reviews or 0)

    return target.loop.run(count())


@FUZZ
@given(
    verb=st.sampled_from(
        [
            "ack",
            "ack.view",
            "agreement.end",
            "rules.save",
            "price_action.save",
            "review.start",
            "review.update",
            "review.remind",
            "review.close",
        ]
    ),
    data=st.dictionaries(
        st.sampled_from(
            [
                "item_kind",
                "item_id",
                "account_id",
                "flag_id",
                "card_id",
                "v",
                "issued",
                "countries",
                "title",
                "starts_on",
                "inform:decision",
                "decide:pricing",
                "remind_after_hours",
                "review_id",
                "due_on",
            ]
        ),
        json_values | st.sampled_from(["decision", "contact", "price_action", "1", "DE", "manager"]) | st.integers(),
        max_size=6,
    ),
    where=st.sampled_from(["personal", CONTOSO_CHANNEL]),
)
def test_acknowledgement_rules_and_price_actions_refuse_what_outsiders_and_garbage_send(
    target: Target, verb: str, data: dict[str, Any], where: str
) -> None:
    before = stored_by_outsiders(target)
    response = target.post(Teams(target.connector.url).execute({"verb": verb, **data}, user="lynne", where=where))
    target.settle()
    assert_no_leak(target, response)
    assert stored_by_outsiders(target) == before
