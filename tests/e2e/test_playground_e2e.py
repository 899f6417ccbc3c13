"""End to end: Microsoft's Agents Playground (the Teams client and Bot Connector emulator) drives the bot."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.links import account_link
from kam.accounts import get_account
from kam.models import Account, Candidate, CandidateKind, ListReviewProposal, Tier
from kam.plans import PlanContent, PlanItem, save_plan
from tests.support.cards_judge import assert_valid_cards
from tests.support.fakes.loopback import free_port
from tests.support.flows import as_submitted, choice_value, must_touch
from tests.support.harness import RunningBot, local_settings, migrate_and_seed
from tests.support.teams import USERS

ROOT = Path(__file__).resolve().parents[2]
PLAYGROUND = ROOT / "node_modules" / ".bin" / "agentsplayground"
CONFIG = ROOT / ".m365agentsplayground.yml"
CARD = "application/vnd.microsoft.card.adaptive"
BOT_ID = "00000000-0000-0000-0000-00000000000011"  # the bot's id in .m365agentsplayground.yml

pytestmark = pytest.mark.e2e


class Playground:
    """The Playground's HTTP API and the activity log it streams on its websocket."""

    def __init__(self, base: str, http: aiohttp.ClientSession) -> None:
        self.base = base
        self.http = http
        self.log: list[dict[str, Any]] = []
        self._changed = asyncio.Event()

    async def follow(self) -> None:
        async with self.http.ws_connect(f"{self.base}/_ws/log/stream") as ws:
            async for message in ws:
                entry = json.loads(message.data).get("log", {})
                self.log.append(entry)
                self._changed.set()

    def bot_messages(self, conversation: str) -> list[dict[str, Any]]:
        return [
            e
            for e in self.log
            if e.get("from") == "User Application"
            and e.get("conversationId") == conversation
            and e.get("activityName") == "message"
        ]

    async def next_bot_card(self, conversation: str, after: int, timeout: float = 15) -> tuple[dict[str, Any], str]:
        async def wait() -> tuple[dict[str, Any], str]:
            while True:
                for entry in self.bot_messages(conversation)[after:]:
                    for attachment in entry["request"]["body"].get("attachments") or []:
                        if attachment["contentType"] == CARD:
                            return attachment["content"], entry["messageId"]
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(wait(), timeout)

    async def bot_card_where(
        self, wanted: str, timeout: float = 15, conversation: str = ""
    ) -> tuple[dict[str, Any], str, str]:
        """The first card the bot sent whose JSON contains `wanted` (in a conversation starting so, if given)."""

        async def wait() -> tuple[dict[str, Any], str, str]:
            while True:
                for entry in self.log:
                    if entry.get("from") != "User Application" or entry.get("activityName") != "message":
                        continue
                    if not str(entry.get("conversationId", "")).startswith(conversation):
                        continue
                    for attachment in entry["request"]["body"].get("attachments") or []:
                        if attachment["contentType"] == CARD and wanted in json.dumps(attachment["content"]):
                            return attachment["content"], entry["messageId"], entry["conversationId"]
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(wait(), timeout)

    async def say(self, conversation: str, text: str, user: str, *, mention_bot: bool = False) -> None:
        """Post as `user`; in a channel the bot only hears messages that @mention it, as in Teams."""
        url = f"{self.base}/_conversation/v1/conversations/{conversation}/messages"
        body: dict[str, Any] = {"text": text, "textFormat": "plain", "from": {"id": user}}
        if mention_bot:
            tag = "<at>kambot</at>"
            body |= {
                "text": f"{tag} {text}",
                "mentions": [{"mentioned": {"id": BOT_ID, "name": "kambot"}, "text": tag}],
            }
        async with self.http.post(url, json=body) as r:
            assert r.status == 200, await r.text()

    async def say_as(self, conversation: str, text: str, user: str) -> None:
        """Type as `user` (not the Playground's current user), @mentioning the bot: a custom message activity."""
        url = f"{self.base}/_internal/v1/customActivities"
        async with self.http.get(f"{url}/template?conversationId={conversation}") as r:
            activity = await r.json()
        person = next(p for p in USERS.values() if p.teams_user_id == user)
        tag = "<at>kambot</at>"
        activity.update(
            {
                "type": "message",
                "text": f"{tag} {text}",
                "textFormat": "plain",
                "from": {"id": user, "name": person.name, "aadObjectId": person.aad_object_id},
                "entities": [{"type": "mention", "text": tag, "mentioned": {"id": BOT_ID, "name": "kambot"}}],
            }
        )
        async with self.http.post(url, json=activity) as r:
            assert r.status == 200, await r.text()

    async def execute(
        self, conversation: str, user: str, reply_to: str, verb: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        body = {
            "name": "adaptiveCard/action",
            "conversation": {"id": conversation},
            "from": {"id": user},
            "replyToId": reply_to,
            "value": {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"},
        }
        async with self.http.post(f"{self.base}/_conversation/v1/invoke", json=body) as r:
            assert r.status == 200, await r.text()
            return await r.json()


async def _started(tmp_path: Path, **settings: object) -> AsyncIterator[tuple[Playground, RunningBot]]:
    if not PLAYGROUND.exists():
        pytest.fail("The Agents Playground is not installed; `make test` installs it with npm ci.")
    database = f"sqlite+aiosqlite:///{tmp_path / 'kambot.db'}"
    await migrate_and_seed(database)
    # No team digest day, from midnight: a digest goes to whoever picks today.
    bot = await RunningBot(local_settings(database, nudge_hour=0, **settings)).start()
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "xdg-open").write_text("#!/bin/sh\nexit 0\n")
    (shim / "xdg-open").chmod(0o755)
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}",
        "M365_AGENTS_PLAYGROUND_CONFIG_PATH": str(CONFIG),
    }
    process = subprocess.Popen(
        [str(PLAYGROUND), "-e", f"{bot.url}/api/messages", "-c", "msteams", "--dt", "-p", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    http = aiohttp.ClientSession()
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            if process.poll() is not None:
                pytest.fail(f"the Playground exited: {process.stdout.read().decode() if process.stdout else ''}")
            try:
                async with http.get(f"{base}/_debug/ping") as r:
                    if (await r.text()).strip() == "pong":
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        client = Playground(base, http)
        follower = asyncio.create_task(client.follow())
        await asyncio.sleep(0.3)
        yield client, bot
        follower.cancel()
    finally:
        await http.close()
        process.terminate()
        process.wait(timeout=10)
        await bot.stop()


@pytest.fixture
async def playground(tmp_path: Path) -> AsyncIterator[tuple[Playground, RunningBot]]:
    async for started in _started(tmp_path):
        yield started


@pytest.fixture
async def playground_with_head(tmp_path: Path) -> AsyncIterator[tuple[Playground, RunningBot]]:
    """The Playground's current user, Alex, is also the head of KAM."""
    async for started in _started(tmp_path, head_of_kam_aad_ids=[USERS["alex"].aad_object_id]):
        yield started


async def test_a_minimal_contact_takes_three_inputs_in_the_playground_and_reaches_the_channel(
    playground: tuple[Playground, RunningBot],
) -> None:
    client, bot = playground
    config_chat = "personal-chat-id"
    alex = "user-id-0"

    await client.say(config_chat, "log contact", alex)
    picker, picker_id = await client.next_bot_card(config_chat, after=0)
    on_picker = must_touch(picker) | {"account_id": choice_value(picker, "account_id", "Contoso Pharma")}
    answer = await client.execute(config_chat, alex, picker_id, "contact.pick", as_submitted(picker, on_picker))
    assert answer["type"] == CARD
    form = answer["value"]

    on_form = must_touch(form) | {"summary": "Agreed a paid second service visit per year."}
    assert len(on_picker) + len(on_form) == 3, (on_picker, on_form)
    answer = await client.execute(config_chat, alex, picker_id, "contact.save", as_submitted(form, on_form))
    assert answer["type"] == CARD and "Contact logged: Contoso Pharma" in json.dumps(answer["value"])
    logged = answer["value"]

    post, _ = await client.next_bot_card("channel-contoso-id", after=0)
    text = json.dumps(post)
    assert "New customer contact: Contoso Pharma" in text
    assert "Agreed a paid second service visit per year." in text
    assert post["msteams"]["entities"][0]["mentioned"]["name"] == "Megan Bowen"
    assert await bot.contact_count() == 1
    assert_valid_cards([picker, form, logged, post])


async def test_opening_the_playground_greets_each_chat_once(playground: tuple[Playground, RunningBot]) -> None:
    """What its web page does: link its own conversation to the chat, then announce the installation, which
    the Playground sends as installationUpdate (the chat's id) and conversationUpdate (its own id)."""
    client, _ = playground
    for chat, linked in (("personal-chat-id", "dl-personal"), ("channel-contoso-id", "dl-contoso")):
        link = {"directLineConversationId": linked, "conversationId": chat}
        async with client.http.post(f"{client.base}/_debug/conversation/addDirectLineConversationLink", json=link) as r:
            assert r.status == 200, await r.text()
        for _ in range(2):  # and once more when the page is opened again
            async with client.http.post(
                f"{client.base}/_debug/conversation/{chat}/installation", json={"directLineConversationId": linked}
            ) as r:
                assert r.status == 200, await r.text()
    await client.bot_card_where("Welcome to kambot")
    await asyncio.sleep(3)  # what else arrives

    for chat, linked in (("personal-chat-id", "dl-personal"), ("channel-contoso-id", "dl-contoso")):
        welcomes = [
            e
            for c in (chat, linked)
            for e in client.bot_messages(c)
            if "Welcome to kambot" in json.dumps(e["request"]["body"])
        ]
        assert len(welcomes) == 1, (chat, len(welcomes))
        card = welcomes[0]["request"]["body"]["attachments"][0]["content"]
        assert "log contact" in json.dumps(card)
        assert_valid_cards([card])


async def test_a_digest_comes_on_the_day_one_chooses_in_the_playground(
    playground: tuple[Playground, RunningBot],
) -> None:
    client, _ = playground
    today = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[dt.date.today().weekday()]
    await client.say("personal-chat-id", f"digest {today}", "user-id-0")
    digest, _, _ = await client.bot_card_where("Your week on your key accounts", conversation="personal-chat-id")
    text = json.dumps(digest)
    assert "Contoso Pharma" in text and "Fabrikam Logistics" in text, "one digest for both of Alex's accounts"
    assert "Log a contact" in text
    assert_valid_cards([digest])


async def test_the_message_action_opens_a_prefilled_contact_dialog_in_the_playground(
    playground: tuple[Playground, RunningBot],
) -> None:
    client, _ = playground
    body = {
        "name": "composeExtension/fetchTask",
        "conversation": {"id": "personal-chat-id"},
        "from": {"id": "user-id-0"},
        "value": {
            "commandId": "logAsContact",
            "commandContext": "message",
            "messagePayload": {
                "body": {"contentType": "text", "content": "Customer asks for a second service visit"},
                "from": {"user": {"displayName": "Tom Richter"}},
            },
        },
    }
    async with client.http.post(f"{client.base}/_conversation/v1/invoke", json=body) as r:
        assert r.status == 200, await r.text()
        answer = await r.json()
    task = answer.get("task") or answer.get("value", {}).get("task")
    picker = task["value"]["card"]["content"]
    assert "For which key account?" in json.dumps(picker)
    assert picker["actions"][0]["data"]["summary"] == "Customer asks for a second service visit"
    assert_valid_cards([picker])


async def test_a_pasted_account_link_unfurls_for_the_account_team_only_in_the_playground(
    playground: tuple[Playground, RunningBot],
) -> None:
    client, bot = playground
    link = account_link(bot.settings.public_base_url, 1)  # Contoso Pharma

    async def paste(user: str) -> dict[str, Any]:
        body = {
            "name": "composeExtension/queryLink",
            "conversation": {"id": "group-chat-id"},
            "from": {"id": user},
            "value": {"url": link},
        }
        async with client.http.post(f"{client.base}/_conversation/v1/invoke", json=body) as r:
            assert r.status == 200, await r.text()
            answer = await r.json()
        return answer.get("composeExtension") or answer.get("value", {}).get("composeExtension")

    member = await paste("user-id-0")  # Alex, on Contoso's team
    card = member["attachments"][0]["content"]
    assert "Contoso Pharma" in json.dumps(card) and member["attachments"][0]["preview"]["content"]["title"]
    assert_valid_cards([card])
    assert (await paste("user-id-5"))["attachments"] == []  # Lynne, on no account team


async def test_a_decision_reaches_the_ka_manager_who_acknowledges_it_in_the_playground(
    playground: tuple[Playground, RunningBot],
) -> None:
    client, _ = playground
    general, isaiah, alex = "team-id", "user-id-3", "user-id-0"

    await client.say_as(general, "log decision", isaiah)
    form, form_id, chat = await client.bot_card_where("Log a decision: Fabrikam Logistics")
    assert not chat.startswith(general), "the form comes to Isaiah's 1:1 chat, not the channel"
    said = [e["request"]["body"].get("text") or "" for e in client.bot_messages(general)]
    assert any("I sent you the form" in text for text in said)
    assert not any(e["request"]["body"].get("attachments") for e in client.bot_messages(general))
    inputs = {
        "title": "Weekend deliveries in Q1",
        "category": "service",
        "decision": "Saturday deliveries to the Memphis hub from January.",
        "decided_by": "Isaiah Langer",
        "effective_on": dt.date.today().isoformat(),
    }
    answer = await client.execute(chat, isaiah, form_id, "decision.save", dict(form["actions"][0]["data"]) | inputs)
    assert answer["type"] == CARD and "Waiting for Alex Wilber" in json.dumps(answer["value"]), answer

    post, post_id, post_thread = await client.bot_card_where("Acknowledged: 0 of 1")
    assert post["refresh"]["userIds"] == [alex]
    personal, personal_id, alexs_chat = await client.bot_card_where("Why you:")
    assert not alexs_chat.startswith(general) and "Weekend deliveries in Q1" in json.dumps(personal)
    ack = next(a for a in personal["actions"] if a["verb"] == "ack")
    answer = await client.execute(alexs_chat, alex, personal_id, "ack", ack["data"])
    assert answer["type"] == CARD and "You acknowledged this on" in json.dumps(answer["value"])

    # A new channel post opens its own thread, and a card in it is addressed there.
    thread_of_post = f"{post_thread};messageid={post_id}"
    refreshed = await client.execute(thread_of_post, isaiah, post_id, "ack.view", post["refresh"]["action"]["data"])
    assert "Acknowledged: 1 of 1" in json.dumps(refreshed["value"])
    assert_valid_cards([form, post, personal, answer["value"], refreshed["value"]])


async def test_a_plan_review_runs_in_the_playground_from_start_to_summary(
    playground: tuple[Playground, RunningBot],
) -> None:
    client, bot = playground
    general, alex, isaiah = "team-id", "user-id-0", "user-id-3"
    async with bot.db.transaction() as session:
        fabrikam = await get_account(session, 2)
        owners = {m.person.teams_user_id: m.person.id for m in fabrikam.members}
        items = [
            PlanItem(id="a" * 32, title="Weekend delivery pilot", owner_id=owners[alex]),
            PlanItem(id="b" * 32, title="Memphis hub service contract", owner_id=owners[isaiah]),
        ]
        await save_plan(session, fabrikam, fabrikam.members[0].person, 0, PlanContent(items=items))

    await client.say(general, "review plan", alex, mention_bot=True)
    form, form_id, thread = await client.bot_card_where("Start review")
    due = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    started = await client.execute(
        thread, alex, form_id, "review.start", dict(form["actions"][0]["data"]) | {"due_on": due}
    )
    assert "Updated: 0 of 2 owners" in json.dumps(started["value"])

    own, own_id, chat = await client.bot_card_where("status_" + "a" * 32)
    update = next(a for a in own["actions"] if a["verb"] == "review.update")["data"]
    mine = {f"status_{'a' * 32}": "done", f"progress_{'a' * 32}": "100", f"comment_{'a' * 32}": "Pilot ran in March"}
    answer = await client.execute(chat, alex, own_id, "review.update", update | mine)
    assert "Updated: 1 of 2 owners" in json.dumps(answer["value"])

    remind = next(a for a in started["value"]["actions"] if a["verb"] == "review.remind")["data"]
    reminded = await client.execute(thread, alex, form_id, "review.remind", remind)
    assert reminded["value"] == "Reminded: Isaiah Langer"
    reminder, _, isaiahs_chat = await client.bot_card_where("Reminder: please send your update")
    assert isaiahs_chat not in (chat, general)

    post, post_id, post_thread = await client.bot_card_where("Plan review: Fabrikam Logistics", conversation=general)
    channel_thread = f"{post_thread};messageid={post_id}" if ";" not in post_thread else post_thread
    his = await client.execute(channel_thread, isaiah, post_id, "ack.view", post["refresh"]["action"]["data"])
    update = next(a for a in his["value"]["actions"] if a["verb"] == "review.update")["data"]
    theirs = {f"status_{'b' * 32}": "in_progress", f"progress_{'b' * 32}": "50", f"decision_{'b' * 32}": "true"}
    answer = await client.execute(channel_thread, isaiah, post_id, "review.update", update | theirs)
    assert "Updated: 2 of 2 owners" in json.dumps(answer["value"])

    close = next(a for a in started["value"]["actions"] if a["verb"] == "review.close")["data"]
    summary = await client.execute(thread, alex, form_id, "review.close", close)
    text = json.dumps(summary["value"])
    assert "Plan review closed: Fabrikam Logistics" in text and "Decisions needed (1)" in text
    posted, _, _ = await client.bot_card_where("Plan review closed: Fabrikam Logistics")
    assert_valid_cards([form, started["value"], own, reminder, his["value"], summary["value"], posted])


async def test_the_key_account_list_review_runs_in_the_playground_and_changes_the_list(
    playground_with_head: tuple[Playground, RunningBot],
) -> None:
    client, bot = playground_with_head
    chat, alex, megan = "personal-chat-id", "user-id-0", "user-id-1"
    top = dict.fromkeys(("customer_complexity", "strategic_importance", "addressable_potential"), 5.0)
    async with bot.db.transaction() as session:
        (await get_account(session, 1)).scores = top  # Contoso: 5.0 earns Corporate Strategic
        (await get_account(session, 2)).scores = {"strategic_importance": 1.0}  # Fabrikam: below every tier
        session.add(Candidate(name="Northwind Traders", kind=CandidateKind.WIN_BACK, scores=top))

    await client.say(chat, "list review", alex)
    decide, _, _ = await client.bot_card_where("Key account list review: decisions", conversation=chat)
    assert "3 proposals" in json.dumps(decide)

    # Megan, Contoso's KA manager, comments on its proposal in her own chat with kambot.
    asked, asked_id, megans_chat = await client.bot_card_where("Your comment on Contoso Pharma")
    assert megans_chat != chat
    button = next(e for e in asked["body"] if e.get("type") == "ActionSet")["actions"][0]
    pid = button["data"]["proposal_id"]
    words = {f"comment_{pid}": "Agreed: they run three continents now."}
    answer = await client.execute(megans_chat, megan, asked_id, "listreview.comment", dict(button["data"]) | words)
    assert "Your comment on Contoso Pharma is saved." in json.dumps(answer["value"])
    commented = answer["value"]

    # The head of KAM sees the comment and decides on one card.
    before = len(client.bot_messages(chat))
    await client.say(chat, "list review", alex)
    decide, decide_id = await client.next_bot_card(chat, after=before)
    assert "Megan Bowen: Agreed: they run three continents now." in json.dumps(decide)
    async with bot.db.transaction() as session:
        ids = {p.proposal: p.id for p in await session.scalars(select(ListReviewProposal))}
    choices = {f"decision_{pid}": "accept" for pid in ids.values()} | {
        f"tier_{ids['tier']}": "corporate_strategic_key_account",
        f"tier_{ids['enter']}": "key_account",
        f"manager_{ids['enter']}": "pattif@example.com",
    }
    done = await client.execute(
        chat, alex, decide_id, "listreview.decide", dict(decide["actions"][0]["data"]) | choices
    )
    assert "3 accepted, 0 rejected. Every proposal is decided" in json.dumps(done["value"])

    async with bot.db.transaction() as session:
        accounts = {a.name: a for a in await session.scalars(select(Account))}
        assert accounts["Contoso Pharma"].tier == Tier.CORPORATE_STRATEGIC_KEY_ACCOUNT
        assert not accounts["Fabrikam Logistics"].active
        assert accounts["Northwind Traders"].tier == Tier.KEY_ACCOUNT
    assert_valid_cards([decide, asked, commented, done["value"]])
