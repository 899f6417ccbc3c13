"""Steps of the user flows the integration tests share: open a form, save it, read the cards that came."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bot.settings import Settings
from kam.accounts import get_account
from kam.contacts import LogContact, log_contact
from kam.decisions import LogDecision, log_decision
from kam.demo import TENANT_ID
from kam.models import (
    Account,
    ContactKind,
    DecisionCategory,
    Person,
)
from kam.people import Caller, find_person
from kam.plans import PlanContent, PlanItem, save_plan
from tests.support.fakes.connector import ConnectorFake, Recorded
from tests.support.fakes.entra import CLIENT_ID, EntraFake
from tests.support.harness import RunningBot
from tests.support.teams import CONTOSO_CHANNEL, USERS

CARD = "application/vnd.microsoft.card.adaptive"


MESSAGE = "application/vnd.microsoft.activity.message"


GOOD_INPUT = {
    "stakeholders": "",
    "customer_people": "Dr. Hanna Berger (Head of Procurement)",
    "met_on": dt.date.today().isoformat(),
    "kind": "visit",
    "summary": "Walked the Leipzig plant; they plan 20% more volume in 2027.",
    "customer_asked": "A second service visit per year. They agreed to pay for it.",
    "we_committed": "An offer for the extra visit by Friday.",
    "next_steps": "Megan sends the offer.",
    "confidential": "false",
}


def last_card(connector: ConnectorFake, conversation: str) -> tuple[dict[str, Any], str]:
    sent = [r for r in connector.in_conversation(conversation) if r.cards]
    assert sent, f"no card was sent to {conversation}"
    return sent[-1].cards[0], sent[-1].activity_id


def texts_in(card: dict[str, Any]) -> str:
    """Everything a person reads on a card, flattened."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("text", "title", "label", "value", "errorMessage", "placeholder"):
                if isinstance(node.get(key), str):
                    found.append(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return "\n".join(found)


def action_data(card: dict[str, Any]) -> dict[str, Any]:
    return dict(card["actions"][0]["data"])


def inputs_of(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every input on a card by id, inside containers too (shown or hidden: a client sends them all)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(elements: list[dict[str, Any]]) -> None:
        for element in elements:
            if str(element.get("type", "")).startswith("Input."):
                found[element["id"]] = element
            walk(element.get("items") or [])

    walk(card.get("body") or [])
    return found


def choice_value(card: dict[str, Any], input_id: str, title: str) -> str:
    element = inputs_of(card).get(input_id)
    if element is None:
        raise AssertionError(f"no input {input_id}")
    return next(c["value"] for c in element["choices"] if c["title"].startswith(title))


def must_touch(card: dict[str, Any]) -> dict[str, str]:
    """What a user has to fill in before the client lets them submit: each required input with no value yet,
    answered the quickest way (the first choice offered, a few words)."""
    touched = {}
    for name, element in inputs_of(card).items():
        if element.get("isRequired") and not element.get("value"):
            choices = element.get("choices")
            touched[name] = choices[0]["value"] if choices else f"{element.get('label', name)}: a few words"
    return touched


def as_submitted(card: dict[str, Any], touched: dict[str, str]) -> dict[str, Any]:
    """The action data a client sends: the card's own data, every input's value, and what the user changed."""
    values = {name: str(element.get("value", "")) for name, element in inputs_of(card).items()}
    return action_data(card) | values | touched


def invoke_card(reply: Any) -> dict[str, Any]:
    assert reply.status == 200, reply
    assert reply.body["type"] == CARD, reply.body
    return reply.body["value"]


def invoke_message(reply: Any) -> str:
    assert reply.status == 200, reply
    assert reply.body["type"] == MESSAGE, reply.body
    return reply.body["value"]


async def open_form(bot: RunningBot, account: str = "Contoso Pharma", user: str = "alex") -> tuple[dict[str, Any], str]:
    """'log contact' in a personal chat, pick the account: the form card and the id of the message holding it."""
    await bot.send(bot.teams.message("log contact", user=user))
    picker, message_id = last_card(bot.connector, f"a:personal-{user}")
    data = action_data(picker) | {"account_id": choice_value(picker, "account_id", account)}
    form = invoke_card(await bot.send(bot.teams.execute(data, user=user, reply_to=message_id)))
    return form, message_id


async def save(bot: RunningBot, form: dict[str, Any], user: str = "alex", **changes: str) -> Any:
    data = action_data(form) | GOOD_INPUT | changes
    return await bot.send(bot.teams.execute(data, user=user))


def chat_cards(connector: ConnectorFake, user: str) -> list[dict[str, Any]]:
    """Cards in a user's 1:1 chat: the one the bot opened, or the one they opened themselves."""
    ids = {connector.chats.get(USERS[user].teams_user_id), f"a:personal-{user}"}
    return [card for r in connector.recorded if r.conversation_id in ids for card in r.cards]


def tab_link(card: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Where the card's button to a tab leads: the Teams deep link's path, and its context (the channel)."""
    link = next(a["url"] for a in card.get("actions") or [] if a.get("type") == "Action.OpenUrl")
    parts = urlsplit(link)
    assert parts.scheme == "https" and parts.netloc == "teams.microsoft.com", link
    return parts.path, json.loads(parse_qs(parts.query)["context"][0])


def verb_data(card: dict[str, Any], verb: str) -> dict[str, Any]:
    for action in card.get("actions") or []:
        if action.get("verb") == verb:
            return dict(action["data"])
    raise AssertionError(f"no {verb} button on the card: {texts_in(card)}")


def chat_messages(connector: ConnectorFake, user: str) -> list[Recorded]:
    """The messages with cards in a user's 1:1 chat (as chat_cards), with their ids."""
    ids = {connector.chats.get(USERS[user].teams_user_id), f"a:personal-{user}"}
    return [r for r in connector.recorded if r.conversation_id in ids and r.cards]


async def form_from_channel(
    bot: RunningBot, what: str, user: str = "alex", where: str = CONTOSO_CHANNEL
) -> dict[str, Any]:
    """Type 'log decision' / 'log contact' in an account channel: the form arrives in the 1:1 chat, not the channel."""
    return (await form_message_from_channel(bot, what, user, where))[0]


async def form_message_from_channel(
    bot: RunningBot, what: str, user: str = "alex", where: str = CONTOSO_CHANNEL
) -> tuple[dict[str, Any], str]:
    """As form_from_channel: the form, and the id of the chat message holding it."""
    before = len(chat_messages(bot.connector, user))
    posts = len(bot.connector.in_conversation(where))
    await bot.send(bot.teams.message(what, user=user, where=where))
    # Whichever instance's outbox takes it (two may share the database).
    await bot.connector.wait_for(lambda fake: len(chat_messages(fake, user)) > before, timeout=10)
    await bot.settle()
    said = bot.connector.in_conversation(where)[posts:]
    assert not [card for r in said for card in r.cards if inputs_of(card)], "no form is posted in the channel"
    assert any("I sent you the form" in str(r.activity.get("text")) for r in said), "the thread hears where it went"
    forms = chat_messages(bot.connector, user)[before:]
    assert len(forms) == 1, f"one form in the 1:1 chat, not {len(forms)}"
    return forms[0].cards[0], forms[0].activity_id


async def log_in_channel(
    bot: RunningBot, what: str, values: dict[str, str], user: str = "alex", where: str = CONTOSO_CHANNEL
) -> dict[str, Any]:
    """Ask for the form in an account channel and submit it from the 1:1 chat."""
    form = await form_from_channel(bot, what, user, where)
    logged = invoke_card(await bot.send(bot.teams.execute(action_data(form) | values, user=user)))
    await bot.settle()
    return logged


def decision_form(title: str, text: str, category: str = "service", **more: str) -> dict[str, str]:
    """What a decision form sends: the title, category and text given, decided by the team, effective today."""
    return {
        "title": title,
        "category": category,
        "decision": text,
        "decided_by": "the team",
        "effective_on": dt.date.today().isoformat(),
        **more,
    }


def channel_post(connector: ConnectorFake, channel: str, title: str) -> dict[str, Any]:
    posts = [r.cards[0] for r in connector.in_conversation(channel) if r.cards and title in texts_in(r.cards[0])]
    assert posts, f"no post {title!r} in {channel}"
    return posts[-1]


DECISION = {
    "title": "Second service visit is paid",
    "category": "pricing",
    "decision": "The second yearly service visit is charged at list price.",
    "rationale": "The customer agreed to pay for it on 20 Nov.",
    "decided_by": "Megan Bowen",
    "effective_on": dt.date.today().isoformat(),
    "scope": "DE, AT",
    "communicate_by": (dt.date.today() + dt.timedelta(days=7)).isoformat(),
}


OFFER, PRICES, SUPPLIER_DAY = "a" * 32, "b" * 32, "c" * 32
CONTOSO_ACCOUNT_ID = 1  # the demo's first account


async def seed_plan(bot: RunningBot) -> None:
    async with bot.db.transaction() as session:
        account = await get_account(session, CONTOSO_ACCOUNT_ID)
        people = {u: await find_person(session, Caller(USERS[u].aad_object_id, None, "")) for u in USERS}
        items = [
            PlanItem(id=OFFER, title="Second service visit offer", owner_id=people["adele"].id),  # type: ignore[union-attr]
            PlanItem(
                id=PRICES,
                title="Align country prices",
                owner_id=people["patti"].id,  # type: ignore[union-attr]
                due_on=dt.date.today() - dt.timedelta(days=2),
            ),
            PlanItem(id=SUPPLIER_DAY, title="Supplier day in Leipzig"),
        ]
        await save_plan(session, account, people["megan"], 0, PlanContent(items=items))


async def start(bot: RunningBot, due: dt.date) -> dict[str, Any]:
    await bot.send(bot.teams.message("review plan", user="megan", where=CONTOSO_CHANNEL))
    form, _ = last_card(bot.connector, CONTOSO_CHANNEL)
    data = action_data(form) | {"due_on": due.isoformat()}
    return invoke_card(await bot.send(bot.teams.execute(data, user="megan", where=CONTOSO_CHANNEL)))


def review_data(card: dict[str, Any], verb: str, **inputs: str) -> dict[str, Any]:
    return verb_data(card, verb) | inputs


async def fill(bot: RunningBot, contacts: int, decisions: int, confidential: bool = False) -> None:
    async with bot.db.transaction() as session:
        alex = await session.scalar(select(Person).where(Person.name == "Alex Wilber"))
        contoso = await session.scalar(select(Account).where(Account.name == "Contoso Pharma"))
        for i in range(contacts):
            await log_contact(
                session,
                LogContact(
                    contoso.id,
                    alex,
                    f"c{i:031d}",
                    dt.date.today() - dt.timedelta(days=i),
                    ContactKind.CALL,
                    f"Call number {i}",
                    "Dr. Hanna Berger",
                    confidential=confidential and i == 0,
                ),
            )
        for i in range(decisions):
            await log_decision(
                session,
                LogDecision(
                    contoso.id,
                    alex,
                    f"d{i:031d}",
                    f"Decision {i}",
                    DecisionCategory.PRICING,
                    f"Price rule {i}",
                    "Megan",
                    dt.date.today() - dt.timedelta(days=i, hours=1),
                ),
            )


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    """Wait until `check` holds (work a later sweep does), at most `timeout`; the asserts after it say what did not."""
    deadline = time.monotonic() + timeout
    while not await check() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


async def scrape(bot: RunningBot) -> dict[str, float]:
    async with aiohttp.ClientSession() as http, http.get(f"{bot.url}/metrics") as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return values


def tab_settings(database_url: str, entra: EntraFake, **overrides: Any) -> Settings:
    """A bot that checks Bot Framework tokens and signs tab users in with the Entra fake's tokens."""
    values: dict[str, Any] = {
        "nudge_weekday": "off",
        "monthly_kpi_cards": False,
        "warm_figures": False,  # the tests seed the past after start-up: figures computed then would miss it
        "database_url": database_url,
        "outbox_sweep_seconds": 0.2,
        "app_id": CLIENT_ID,
        "app_password": "not-used-here",
        "app_tenant_id": TENANT_ID,
        "tab_jwks_url": entra.jwks_url,
        "tab_issuer_base": entra.url,
        "allowed_tenant_ids": [TENANT_ID],
        **overrides,
    }
    return Settings(_env_file=None, **values)
