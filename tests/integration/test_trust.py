"""Each attack an insider tried on kambot, over HTTP against the running app: it now fails."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from typing import Any

import aiohttp
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from bot.app import SWEEPER
from bot.settings import Settings
from kam.models import CardMessage, Contact, ConversationRef, ReviewUpdate, utcnow
from tests.support.fakes.connector import ConnectorFake
from tests.support.fakes.loopback import free_port
from tests.support.flows import (
    DECISION,
    GOOD_INPUT,
    OFFER,
    action_data,
    channel_post,
    chat_cards,
    fill,
    form_from_channel,
    form_message_from_channel,
    invoke_card,
    invoke_message,
    last_card,
    log_in_channel,
    open_form,
    review_data,
    save,
    seed_plan,
    start,
    texts_in,
    verb_data,
)
from tests.support.harness import RunningBot, local_settings, migrate_and_seed
from tests.support.teams import CONTOSO_CHANNEL, FABRIKAM_CHANNEL, GROUP_CHAT, MEETING_CHAT, TENANT_ID, Teams

REFUSED = "That is not available to you"
NOT_YOURS = "This card was opened for someone else"
SECRET = "Secret merger talk with the CFO"


def said_in(bot: RunningBot, conversation: str) -> str:
    """Everything the bot sent to a conversation: texts and cards."""
    return "\n".join(
        (r.activity.get("text") or "") + "\n" + "\n".join(texts_in(c) for c in r.cards)
        for r in bot.connector.in_conversation(conversation)
    )


async def contacts(bot: RunningBot) -> int:
    return await bot.contact_count()


# --- anyone reads any account: ack.view and counted ids -----------------------------------


async def test_the_channel_cards_refresh_shows_nothing_to_outsiders_and_counted_ids_give_nothing(
    bot: RunningBot,
) -> None:
    await log_in_channel(bot, "log decision", DECISION | {"rationale": "Only for the account team"})
    post = channel_post(bot.connector, CONTOSO_CHANNEL, "New decision")
    view = dict(post["refresh"]["action"]["data"])
    assert view["verb"] == "ack.view"
    for user in ("lynne", "isaiah", "sam"):
        answer = invoke_message(await bot.send(bot.teams.execute(view, user=user, where=CONTOSO_CHANNEL)))
        assert answer.startswith(REFUSED) and "Only for the account team" not in answer, user
    for item_id in range(1, 6):  # counting upward: no id is worth more than another
        counted = view | {"item_id": item_id, "item_kind": "contact"}
        answer = invoke_message(await bot.send(bot.teams.execute(counted, user="lynne")))
        assert answer.startswith(REFUSED)
    member = invoke_card(await bot.send(bot.teams.execute(view, user="adele", where=CONTOSO_CHANNEL)))
    assert "Only for the account team" in texts_in(member)


async def test_an_account_that_does_not_exist_is_refused_with_the_same_queries_as_one_that_is_not_yours(
    sqlite_url: str, connector: ConnectorFake
) -> None:
    """Not only the same words: the same statements, so that neither the answer nor its work tells ids apart."""
    await migrate_and_seed(sqlite_url)
    bot = await RunningBot(local_settings(sqlite_url, background_jobs=False), connector).start()

    async def refusal(account_id: int) -> tuple[str, list[str]]:
        with bot.statements_seen() as seen:
            data = bot.reseal({"verb": "contact.pick", "account_id": account_id}, "lynne")
            answer = invoke_message(await bot.send(bot.teams.execute(data, user="lynne")))
        return answer, seen

    try:
        await refusal(998)  # her first turn also stores where she talks to the bot
        missing, forbidden = await refusal(999), await refusal(2)
    finally:
        await bot.stop()
    assert missing[0] == forbidden[0] and missing[0].startswith(REFUSED)
    assert missing[1] == forbidden[1], "the same statements for an account that is not there and one that is"
    assert len(missing[1]) >= 2, "the account looked up, and who asks"


# --- idempotency keys: replayed, stolen, submitted first ----------------------------------


async def test_a_card_id_seen_elsewhere_neither_reveals_the_contact_nor_blocks_its_author(bot: RunningBot) -> None:
    form, _ = await open_form(bot)
    data = action_data(form) | GOOD_INPUT | {"confidential": "true", "summary": SECRET}

    first = invoke_message(await bot.send(bot.teams.execute(data, user="isaiah")))  # the thief submits first
    assert first.startswith(NOT_YOURS) and await contacts(bot) == 0
    theirs = invoke_card(await bot.send(bot.teams.execute(data)))
    assert "Contact logged: Contoso Pharma" in texts_in(theirs) and await contacts(bot) == 1

    replayed = invoke_message(await bot.send(bot.teams.execute(data, user="isaiah")))
    assert replayed.startswith(NOT_YOURS) and SECRET not in replayed
    await bot.send(bot.teams.message("log contact", user="isaiah"))
    own, _ = last_card(bot.connector, "a:personal-isaiah")
    swapped = action_data(own) | GOOD_INPUT | {"card_id": data["card_id"]}  # his own form, her card id
    answer = invoke_message(await bot.send(bot.teams.execute(swapped, user="isaiah")))
    assert answer.startswith(NOT_YOURS) and await contacts(bot) == 1
    again = invoke_card(await bot.send(bot.teams.execute(data)))  # the author's second click: her contact
    assert SECRET in texts_in(again)


# --- confidential text in shared places ---------------------------------------------------


async def test_confidential_details_reach_only_insiders_and_only_in_private(bot: RunningBot) -> None:
    await fill(bot, contacts=2, decisions=0, confidential=True)  # "Call number 0" is confidential, by Alex
    for where in (GROUP_CHAT, MEETING_CHAT):
        await bot.send(bot.teams.message("timeline contoso", user="alex", where=where))
        shown = said_in(bot, where)
        assert "Confidential contact" in shown and "Call number 0" not in shown and "Call number 1" in shown
    for user, sees in (("alex", True), ("megan", True), ("adele", False), ("patti", False)):
        await bot.send(bot.teams.message("timeline contoso", user=user))
        card, _ = last_card(bot.connector, f"a:personal-{user}")
        assert ("Call number 0" in texts_in(card)) is sees, user


async def test_a_confidential_contact_asked_for_in_a_channel_is_filled_in_and_kept_in_the_1_1_chat(
    bot: RunningBot,
) -> None:
    await bot.send(bot.teams.message("help"))  # Alex has chatted with kambot: the form comes to that chat
    form, message_id = await form_message_from_channel(bot, "log contact")
    value = action_data(form) | GOOD_INPUT | {"confidential": "true", "summary": SECRET}
    await bot.send(bot.teams.submit(value, reply_to=message_id))
    await bot.settle()
    update = next(r for r in bot.connector.recorded if r.method == "update")
    assert update.activity_id == message_id and "Contact logged" in texts_in(update.cards[0])
    assert SECRET in texts_in(update.cards[0]), "its author sees it whole, in private"
    assert SECRET not in said_in(bot, CONTOSO_CHANNEL) and await contacts(bot) == 1


# --- a forged replyToId -------------------------------------------------------------------


async def test_a_forged_reply_to_id_never_overwrites_another_bot_message(bot: RunningBot) -> None:
    await log_in_channel(bot, "log decision", DECISION)
    post = next(r for r in bot.connector.in_conversation(CONTOSO_CHANNEL) if r.cards and r.method != "update")
    form = await form_from_channel(bot, "log contact", user="isaiah", where=FABRIKAM_CHANNEL)
    value = action_data(form) | GOOD_INPUT
    for reply_to in (post.activity_id, "activity-1", "no-such-message"):
        await bot.send(bot.teams.submit(value, user="isaiah", reply_to=reply_to))
    updates = [r for r in bot.connector.recorded if r.method == "update"]
    assert updates == [], "only the message holding the form may be updated"
    assert await contacts(bot) == 1, "saved once; the two later clicks were the same form"
    logged = [r for r in bot.connector.in_conversation("a:personal-isaiah") if "Contact logged" in texts_in(r.cards[0])]
    assert logged, "the outcome is sent as a new message instead"


async def test_a_saved_submit_whose_card_update_fails_is_reported_as_saved(bot: RunningBot) -> None:
    await bot.send(bot.teams.message("log contact", user="isaiah"))
    form, message_id = last_card(bot.connector, "a:personal-isaiah")
    bot.connector.fail_next(502, times=1)
    await bot.send(bot.teams.submit(action_data(form) | GOOD_INPUT, user="isaiah", reply_to=message_id))
    told = said_in(bot, "a:personal-isaiah")
    assert "Contact logged: Fabrikam Logistics" in told and "Nothing was saved" not in told
    assert await contacts(bot) == 1


# --- the edge: what is not an activity ----------------------------------------------------


def nested(depth: int) -> bytes:
    return b'{"type":"message","value":' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("production", [False, True])
async def test_bodies_that_are_not_activities_get_400_before_anything_runs(
    production: bool, sqlite_url: str, connector: ConnectorFake, caplog: pytest.LogCaptureFixture
) -> None:
    await migrate_and_seed(sqlite_url)
    extra: dict[str, Any] = (
        {
            "app_id": "11111111-2222-3333-4444-555555555555",
            "app_password": "x",
            "app_type": "MultiTenant",
            "allowed_tenant_ids": TENANT_ID,
        }
        if production
        else {}
    )
    bot = await RunningBot(local_settings(sqlite_url, **extra), connector).start()
    try:
        teams = Teams(connector.url)
        good = json.dumps(teams.message("help"))
        bodies = {
            "deeply nested": nested(100_000),
            "nested past the limit": nested(40),
            "not an object": b"[1, 2, 3]",
            "a lone surrogate": good.replace('"help"', '"\\ud800"').encode(),
            "NUL in the conversation id": good.replace("a:personal-alex", "a:personal\\u0000alex").encode(),
            "a surrogate in the service URL": good.replace('"serviceUrl": "', '"serviceUrl": "\\udfff').encode(),
            "a number for the type": good.replace('"type": "message"', '"type": 7').encode(),
        }
        for name, body in bodies.items():
            async with bot._http.post(  # type: ignore[union-attr]
                f"{bot.url}/api/messages",
                data=body,
                headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
            ) as r:
                answer = await r.text()
                assert r.status == 400, (name, r.status, answer)
                assert "Traceback" not in answer and answer, name
    finally:
        await bot.stop()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "no handler crashed"
    assert connector.recorded == []


async def test_long_mention_runs_are_answered_without_blocking_the_loop(bot: RunningBot) -> None:
    """Bodies up to the 256 KB limit: a quadratic mention strip took 28 s for 117 KB."""
    for text in ("<at>" * 60_000, "<at>x</at>" * 24_000, "<at>" + "a" * 117_000):
        activity = bot.teams.message(text, where=CONTOSO_CHANNEL)
        started = time.monotonic()
        reply, health = await asyncio.gather(bot.send(activity), bot.get("/healthz"))
        assert reply.status in (200, 201) and health.status == 200
        assert time.monotonic() - started < 2
    said = [r.activity.get("text") or "" for r in bot.connector.in_conversation(CONTOSO_CHANNEL)]
    assert len(said) == 3 and all(len(s) < 300 for s in said), "each got a short 'I don't know' answer"
    megabyte = bot.teams.message("<at>" * 250_000, where=CONTOSO_CHANNEL)
    started = time.monotonic()
    reply = await bot.send(megabyte)
    assert reply.status == 413 and time.monotonic() - started < 2, "a megabyte is refused at the door"


# --- no transaction open across a network call ---------------------------------------------


async def forms(bot: RunningBot, count: int) -> list[dict[str, Any]]:
    return [(await open_form(bot))[0] for _ in range(count)]


async def submit_timed(bot: RunningBot, form: dict[str, Any]) -> float:
    started = time.monotonic()
    logged = invoke_card(await save(bot, form))
    assert "Contact logged" in texts_in(logged)
    return time.monotonic() - started


def channel_posts(connector: ConnectorFake) -> int:
    return len([r for r in connector.in_conversation(CONTOSO_CHANNEL) if r.cards])


async def test_a_stalled_connector_never_holds_up_a_submit_and_every_post_goes_out_after(bot: RunningBot) -> None:
    waiting = await forms(bot, 6)
    bot.connector.stall(8)
    times = [await submit_timed(bot, form) for form in waiting[:2]]
    # The outbox is now waiting on the stalled connector; the next submits must not wait with it.
    await bot.connector.wait_for(lambda c: c.stalled >= 1, timeout=5)
    times += [await submit_timed(bot, form) for form in waiting[2:]]
    assert max(times) < 1, times
    await bot.connector.wait_for(lambda c: channel_posts(c) == 6, timeout=20)
    assert await contacts(bot) == 6


async def test_a_429_with_retry_after_never_holds_up_a_submit_and_every_post_goes_out_after(bot: RunningBot) -> None:
    waiting = await forms(bot, 4)
    bot.connector.fail_next(429, times=1, retry_after=4)
    times = [await submit_timed(bot, form) for form in waiting]
    await asyncio.sleep(1)  # the outbox has met the 429 and waits 4 s
    times += [await submit_timed(bot, form) for form in await forms(bot, 2)]
    assert max(times) < 1, times
    assert bot.connector.throttled == 1
    await bot.connector.wait_for(lambda c: channel_posts(c) == 6, timeout=25)


# --- smaller ones ---------------------------------------------------------------------------


async def test_an_ack_on_a_review_is_refused_and_counts_as_no_update(bot: RunningBot) -> None:
    await seed_plan(bot)
    await start(bot, dt.date.today() + dt.timedelta(days=7))
    await bot.settle()
    review = verb_data(chat_cards(bot.connector, "adele")[-1], "review.update")["review_id"]
    ack = bot.reseal({"verb": "ack", "item_kind": "review", "item_id": review, "account_id": 1}, "adele")
    answer = invoke_message(await bot.send(bot.teams.execute(ack, user="adele")))
    assert answer.startswith(REFUSED)
    async with bot.db.transaction() as session:
        assert await session.scalar(select(func.count()).where(ReviewUpdate.updated_at.is_not(None))) == 0


async def test_a_client_clock_years_ahead_does_not_let_a_future_date_through(bot: RunningBot) -> None:
    form, _ = await open_form(bot)
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(days=5 * 365)
    activity = bot.teams.execute(action_data(form) | GOOD_INPUT | {"met_on": ahead.date().isoformat()})
    activity["localTimestamp"] = activity["timestamp"] = ahead.isoformat()
    again = invoke_card(await bot.send(activity))
    assert "cannot be in the future" in texts_in(again) and await contacts(bot) == 0

    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(hours=13)  # a colleague in Auckland: already tomorrow
    activity = bot.teams.execute(action_data(form) | GOOD_INPUT | {"met_on": tomorrow.date().isoformat()})
    activity["localTimestamp"] = tomorrow.isoformat()
    assert "Contact logged" in texts_in(invoke_card(await bot.send(activity)))


async def test_free_text_loses_controls_bidi_and_zero_width_characters_in_every_form(bot: RunningBot) -> None:
    dirty = "Pay\u202eable\u200b in\u2066 full\u0000\u0007\U000e0041"
    form, _ = await open_form(bot)
    invoke_card(await save(bot, form, summary=dirty, customer_asked="one\rtwo"))
    async with bot.db.transaction() as session:
        contact = await session.scalar(select(Contact))
        assert contact is not None
        assert (contact.summary, contact.customer_asked) == ("Payable in full", "one\ntwo")
    await bot.settle()  # the contact's channel post is out: the review form is the channel's last card

    await seed_plan(bot)
    await start(bot, dt.date.today() + dt.timedelta(days=7))
    await bot.settle()
    adeles = chat_cards(bot.connector, "adele")[-1]
    mine = {f"status_{OFFER}": "in_progress", f"progress_{OFFER}": "50", f"comment_{OFFER}": dirty}
    invoke_card(await bot.send(bot.teams.execute(review_data(adeles, "review.update", **mine), user="adele")))
    async with bot.db.transaction() as session:
        comments = [u.comment for u in await session.scalars(select(ReviewUpdate)) if u.comment]
        assert comments == ["Payable in full"]


async def test_a_conversation_from_another_tenant_is_not_remembered_or_used(
    sqlite_url: str, connector: ConnectorFake
) -> None:
    await migrate_and_seed(sqlite_url)
    bot = await RunningBot(local_settings(sqlite_url, allowed_tenant_ids=TENANT_ID), connector).start()
    try:
        stranger = Teams(connector.url, tenant_id="99999999-0000-0000-0000-000000000000")
        reply = await bot.send(stranger.message("help", user="megan"))
        assert reply.status in (200, 201) and connector.recorded == []
        invoke = await bot.send(stranger.execute({"verb": "ack.view"}, user="megan"))
        assert invoke.status == 403
        async with bot.db.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(ConversationRef)) == 0
    finally:
        await bot.stop()


async def test_the_welcome_is_sent_once_when_teams_sends_both_events_at_once(
    database_url: str, connector: ConnectorFake
) -> None:
    url = database_url
    await migrate_and_seed(url)
    bot = await RunningBot(local_settings(url), connector).start()
    try:
        for user in ("alex", "megan", "adele"):
            events = [bot.teams.installed(user=user), bot.teams.bot_added(user=user)] * 2
            await asyncio.gather(*(bot.send(e) for e in events))
        for user in ("alex", "megan", "adele"):
            welcomes = [r for r in connector.in_conversation(f"a:personal-{user}") if r.cards]
            assert len(welcomes) == 1, user
    finally:
        await bot.stop()


async def test_the_record_of_which_message_holds_which_form_is_kept_only_while_forms_can_be_sent(
    bot: RunningBot,
) -> None:
    await bot.send(bot.teams.message("log contact", user="isaiah"))
    async with bot.db.transaction() as session:
        old = utcnow() - dt.timedelta(days=40)
        session.add(CardMessage(conversation_id="a:old", activity_id="1", card_id="c" * 32, created_at=old))
    await bot.app[SWEEPER].schedule()  # type: ignore[index]
    async with bot.db.transaction() as session:
        kept = [m.conversation_id for m in await session.scalars(select(CardMessage))]
    assert kept == ["a:personal-isaiah"], "the fresh form's message is remembered, the old one forgotten"


def test_production_refuses_to_start_without_knowing_its_tenants() -> None:
    with pytest.raises(ValidationError, match="KAMBOT_ALLOWED_TENANT_IDS"):
        Settings(
            _env_file=None, app_id="11111111-2222-3333-4444-555555555555", app_password="x", app_type="MultiTenant"
        )  # type: ignore[call-arg]
    single = Settings(_env_file=None, app_id="a", app_password="x", app_tenant_id=TENANT_ID)  # type: ignore[call-arg]
    assert single.tenant_ids == [TENANT_ID] and not single.tenant_allowed("99999999-0000-0000-0000-000000000000")


async def test_metrics_are_not_public_in_production(sqlite_url: str, connector: ConnectorFake) -> None:
    await migrate_and_seed(sqlite_url)
    port = free_port()
    production = {"app_id": "a", "app_password": "x", "app_tenant_id": TENANT_ID}
    for extra, public, private in (
        ({}, 404, None),
        ({"metrics_token": "s3cret"}, 404, None),
        ({"metrics_port": port}, 404, 200),
    ):
        bot = await RunningBot(local_settings(sqlite_url, **production, **extra), connector).start()
        try:
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{bot.url}/metrics") as r:
                    assert r.status == public, extra
                async with http.get(f"{bot.url}/metrics", headers={"Authorization": "Bearer guess"}) as r:
                    assert r.status == 404, extra
                if "metrics_token" in extra:
                    async with http.get(f"{bot.url}/metrics", headers={"Authorization": "Bearer s3cret"}) as r:
                        assert r.status == 200 and "kambot_turns_total" in await r.text()
                if private is not None:
                    async with http.get(f"http://127.0.0.1:{port}/metrics") as r:
                        assert r.status == private and "kambot_turns_total" in await r.text()
        finally:
            await bot.stop()
