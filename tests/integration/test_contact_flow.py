"""Logging a customer contact, through the bot's real HTTP endpoint and the Bot Connector fake."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select

from kam.accounts import get_account
from kam.models import OutboxMessage, OutboxStatus
from kam.outbox import OutboxKind, request_form
from kam.people import Caller, find_person
from tests.support.cards_judge import assert_valid_cards
from tests.support.fakes.connector import ConnectorFake
from tests.support.flows import (
    GOOD_INPUT,
    action_data,
    as_submitted,
    chat_cards,
    choice_value,
    eventually,
    form_from_channel,
    inputs_of,
    invoke_card,
    invoke_message,
    last_card,
    must_touch,
    open_form,
    save,
    texts_in,
)
from tests.support.harness import RunningBot
from tests.support.teams import CONTOSO_CHANNEL, FABRIKAM_CHANNEL, GROUP_CHAT, UNLINKED_CHANNEL, USERS


async def test_installing_in_a_personal_chat_sends_one_welcome_listing_the_commands(bot: RunningBot) -> None:
    await bot.send(bot.teams.installed())
    await bot.send(bot.teams.bot_added())

    welcomes = [r for r in bot.connector.in_conversation("a:personal-alex") if r.cards]
    assert len(welcomes) == 1
    text = texts_in(welcomes[0].cards[0])
    assert "Welcome to kambot" in text
    for command in ("help", "log contact", "accounts"):
        assert f"**{command}**" in text
    assert_valid_cards(welcomes[0].cards)


async def test_one_installation_announced_under_two_conversation_ids_greets_once(bot: RunningBot) -> None:
    """The Agents Playground sends conversationUpdate under its own conversation id and installationUpdate
    under the chat's: one place, one welcome, in the 1:1 chat as in a channel."""
    await bot.send(bot.teams.installed())
    added = bot.teams.bot_added()
    added["conversation"]["id"] = "dl-personal-1"
    await bot.send(added)
    await bot.send(bot.teams.installed(where=FABRIKAM_CHANNEL))
    added = bot.teams.bot_added(where=FABRIKAM_CHANNEL)
    added["conversation"]["id"] = "dl-channel-1"
    await bot.send(added)

    for seen_in in (("a:personal-alex", "dl-personal-1"), (FABRIKAM_CHANNEL, "dl-channel-1")):
        welcomes = [r for c in seen_in for r in bot.connector.in_conversation(c) if r.cards]
        assert [texts_in(r.cards[0]).splitlines()[0] for r in welcomes] == ["Welcome to kambot"]


async def test_adding_the_app_to_the_team_welcomes_the_channel(bot: RunningBot) -> None:
    await bot.send(bot.teams.bot_added(where=FABRIKAM_CHANNEL))
    welcome, _ = last_card(bot.connector, FABRIKAM_CHANNEL)
    assert "Welcome to kambot" in texts_in(welcome)


async def test_help_and_accounts_answer_with_what_the_user_can_do_and_their_accounts(bot: RunningBot) -> None:
    await bot.send(bot.teams.message("help"))
    help_card, _ = last_card(bot.connector, "a:personal-alex")
    assert "log contact" in texts_in(help_card)

    await bot.send(bot.teams.message("Accounts"))
    accounts, _ = last_card(bot.connector, "a:personal-alex")
    text = texts_in(accounts)
    assert "Contoso Pharma" in text and "Strategic Key Account" in text
    assert "Fabrikam Logistics" in text and "KA manager" in text

    await bot.send(bot.teams.message("accounts", user="lynne"))
    nobody, _ = last_card(bot.connector, "a:personal-lynne")
    assert "not on any key account team" in texts_in(nobody)
    assert_valid_cards([help_card, accounts, nobody])


async def test_a_contact_logged_in_a_personal_chat_reaches_the_account_channel_and_mentions_the_ka_manager(
    bot: RunningBot,
) -> None:
    form, _ = await open_form(bot, "Contoso Pharma")
    assert "Log a customer contact: Contoso Pharma" in texts_in(form)
    for label in (
        "Who at the customer",
        "Date",
        "Type of contact",
        "Summary",
        "More details",
        "Our participants",
        "What the customer asked for",
        "What we committed to",
        "Next steps",
        "Confidential",
    ):
        assert label in texts_in(form)

    logged = invoke_card(await save(bot, form))
    assert "Contact logged: Contoso Pharma" in texts_in(logged)
    assert "actions" not in logged, "the logged card is read-only"

    await bot.settle()
    post, _ = last_card(bot.connector, CONTOSO_CHANNEL)
    assert "New customer contact: Contoso Pharma" in texts_in(post)
    assert "<at>Megan Bowen</at>" in texts_in(post)
    mentioned = post["msteams"]["entities"][0]["mentioned"]
    assert mentioned == {"id": "user-id-1", "name": "Megan Bowen"}
    assert "They agreed to pay for it." in texts_in(post)
    assert await bot.contact_count() == 1
    assert_valid_cards([form, logged, post])


async def test_a_user_on_one_account_gets_the_form_without_being_asked_which(bot: RunningBot) -> None:
    await bot.send(bot.teams.message("log contact", user="isaiah"))
    form, _ = last_card(bot.connector, "a:personal-isaiah")
    assert "Log a customer contact: Fabrikam Logistics" in texts_in(form)


async def test_a_minimal_contact_takes_three_inputs_and_every_required_one_is_marked(bot: RunningBot) -> None:
    """Alex is on two accounts: which one, who at the customer, what happened. Type and date are answered."""
    await bot.send(bot.teams.message("log contact"))
    picker, message_id = last_card(bot.connector, "a:personal-alex")
    on_picker = must_touch(picker)
    form = invoke_card(await bot.send(bot.teams.execute(as_submitted(picker, on_picker), reply_to=message_id)))
    on_form = must_touch(form)

    assert list(on_picker) == ["account_id"] and sorted(on_form) == ["stakeholders", "summary"]
    assert len(on_picker) + len(on_form) == 3
    required = {name for name, element in inputs_of(form).items() if element.get("isRequired")}
    assert required == {"stakeholders", "kind", "met_on", "summary"}
    logged = invoke_card(await bot.send(bot.teams.execute(as_submitted(form, on_form))))
    assert "Contact logged" in texts_in(logged) and on_form["summary"] in texts_in(logged)
    assert await bot.contact_count() == 1


async def test_the_details_wait_behind_more_details_and_open_when_the_form_comes_back_with_them(
    bot: RunningBot,
) -> None:
    form, _ = await open_form(bot)
    toggle = next(e for e in form["body"] if e["type"] == "ActionSet")["actions"][0]
    details = next(e for e in form["body"] if e.get("id") == "details")
    assert toggle["type"] == "Action.ToggleVisibility" and toggle["title"] == "More details"
    assert toggle["targetElements"] == ["details"] and details["isVisible"] is False
    hidden = {e["id"] for e in details["items"] if "id" in e}
    assert hidden == {
        "participants",
        "customer_asked",
        "we_committed",
        "next_steps",
        "paid_service",
        "framework_agreement",
        "confidential",
    }

    again = invoke_card(await save(bot, form, summary="", we_committed="An offer by Friday"))
    details = next(e for e in again["body"] if e.get("id") == "details")
    assert details["isVisible"] is True, "what the user wrote there is in sight"
    assert inputs_of(again)["we_committed"]["value"] == "An offer by Friday"
    assert_valid_cards([form, again])


async def test_in_an_account_channel_the_form_comes_to_the_1_1_chat_for_the_channels_account(bot: RunningBot) -> None:
    form = await form_from_channel(bot, "log contact")
    said = bot.connector.in_conversation(CONTOSO_CHANNEL)[-1].activity["text"]
    assert "I sent you the form in your chat with kambot" in said
    assert "Log a customer contact: Contoso Pharma" in texts_in(form)
    stakeholder = choice_value(form, "stakeholders", "Dr. Hanna Berger")
    participant = choice_value(form, "participants", "Adele Vance")

    data = (
        action_data(form)
        | GOOD_INPUT
        | {"customer_people": "", "stakeholders": stakeholder, "participants": participant}
    )
    logged = invoke_card(await bot.send(bot.teams.execute(data)))
    assert "Dr. Hanna Berger" in texts_in(logged) and "Adele Vance" in texts_in(logged)


async def test_in_a_group_chat_the_account_is_picked_in_the_1_1_chat_and_the_form_follows_there(
    bot: RunningBot,
) -> None:
    picker = await form_from_channel(bot, "log contact", where=GROUP_CHAT)
    assert "For which key account?" in texts_in(picker)
    chosen = action_data(picker) | {"account_id": choice_value(picker, "account_id", "Fabrikam Logistics")}
    form = invoke_card(await bot.send(bot.teams.execute(chosen)))
    assert "Log a customer contact: Fabrikam Logistics" in texts_in(form)
    assert_valid_cards([picker, form])


async def test_a_form_owed_to_someone_no_longer_on_the_team_is_not_sent(bot: RunningBot) -> None:
    """The policy is asked again when the form goes: off the team by then, no stakeholders or team for them."""
    await bot.send(bot.teams.message("help", user="isaiah"))  # his chat with kambot is known
    async with bot.db.transaction() as session:
        isaiah = await find_person(session, Caller(USERS["isaiah"].aad_object_id, None, ""))
        contoso = await get_account(session, 1)
        assert isaiah is not None
        request_form(session, isaiah, [contoso], "contact")  # asked for, then he left Contoso's team

    async def gone() -> bool:
        async with bot.db.transaction() as session:
            row = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.FORM_REQUESTED))
            return row is not None and row.status != OutboxStatus.PENDING

    await eventually(gone)  # the next sweep takes it
    assert [texts_in(card).splitlines()[0] for card in chat_cards(bot.connector, "isaiah")] == ["How kambot works"]


async def test_someone_teams_would_not_open_a_chat_with_is_told_to_open_it_not_promised_a_form(
    bot: RunningBot,
) -> None:
    async with bot.db.transaction() as session:
        alex = await find_person(session, Caller(USERS["alex"].aad_object_id, None, ""))
        assert alex is not None
        alex.unreachable_since = dt.datetime.now(dt.UTC)
    await bot.send(bot.teams.message("log contact", where=CONTOSO_CHANNEL))
    await bot.settle()
    said = bot.connector.in_conversation(CONTOSO_CHANNEL)[-1].activity["text"]
    assert "open kambot under Apps" in said and "I sent you the form" not in said
    assert chat_cards(bot.connector, "alex") == [] and not any(r.cards for r in bot.connector.recorded)


async def test_an_unlinked_channel_is_told_so(bot: RunningBot) -> None:
    await bot.send(bot.teams.message("log contact", where=UNLINKED_CHANNEL))
    answer = bot.connector.in_conversation(UNLINKED_CHANNEL)[-1].activity["text"]
    assert "not linked to a key account" in answer


async def test_submitting_the_same_card_twice_stores_one_contact_and_posts_once(bot: RunningBot) -> None:
    form, _ = await open_form(bot)
    first = invoke_card(await save(bot, form))
    second = invoke_card(await save(bot, form))
    await bot.settle()

    assert await bot.contact_count() == 1
    assert texts_in(first) == texts_in(second)
    assert len([r for r in bot.connector.in_conversation(CONTOSO_CHANNEL) if r.cards]) == 1


async def test_missing_fields_return_the_form_with_inline_errors_and_the_users_text(bot: RunningBot) -> None:
    form, _ = await open_form(bot)
    again = invoke_card(await save(bot, form, summary="", customer_people="", we_committed="Keep me, please"))
    text = texts_in(again)
    assert "Please correct the marked fields." in text
    assert "This field is required." in text
    assert "Name at least one customer person" in text
    assert "Keep me, please" in text
    assert await bot.contact_count() == 0

    fixed = invoke_card(await bot.send(bot.teams.execute(action_data(again) | GOOD_INPUT)))
    assert "Contact logged" in texts_in(fixed)
    assert await bot.contact_count() == 1
    assert_valid_cards([again])


async def test_too_long_text_is_refused_with_the_limit_and_kept(bot: RunningBot) -> None:
    form, _ = await open_form(bot)
    long_summary = "word " * 500
    again = invoke_card(await save(bot, form, summary=long_summary))
    assert "Too long: at most 2000 characters (you wrote 2499)." in texts_in(again)
    assert long_summary.strip() in texts_in(again)
    assert await bot.contact_count() == 0


async def test_a_date_in_the_future_or_garbage_is_an_inline_error(bot: RunningBot) -> None:
    form, _ = await open_form(bot)
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    assert "cannot be in the future" in texts_in(invoke_card(await save(bot, form, met_on=future)))
    assert "YYYY-MM-DD" in texts_in(invoke_card(await save(bot, form, met_on="next tuesday")))
    assert "Choose one of the offered options" in texts_in(invoke_card(await save(bot, form, kind="lunch")))
    assert await bot.contact_count() == 0


async def test_someone_not_on_the_account_team_is_refused_and_nothing_is_stored(bot: RunningBot) -> None:
    form, _ = await open_form(bot, "Contoso Pharma")
    stolen = invoke_message(await save(bot, form, user="isaiah"))
    assert "opened for someone else" in stolen and "Contoso" not in stolen

    forged = bot.reseal(action_data(form) | GOOD_INPUT, user="isaiah")  # past the seal: the policy decides
    refusal = invoke_message(await bot.send(bot.teams.execute(forged, user="isaiah")))
    assert "not available to you" in refusal and "Contoso" not in refusal

    await bot.send(bot.teams.message("log contact", user="lynne", where=CONTOSO_CHANNEL))
    said = bot.connector.in_conversation(CONTOSO_CHANNEL)[-1].activity["text"]
    assert "not available to you" in said
    assert await bot.contact_count() == 0


async def test_unknown_account_stale_card_and_malformed_payloads_each_get_a_clear_message(bot: RunningBot) -> None:
    form, _ = await open_form(bot)
    data = action_data(form) | GOOD_INPUT

    assert "opened for someone else" in invoke_message(await bot.send(bot.teams.execute(data | {"account_id": 999})))
    unknown = invoke_message(await bot.send(bot.teams.execute(bot.reseal(data | {"account_id": 999}))))
    assert "not available to you" in unknown
    assert "out of date" in invoke_message(await bot.send(bot.teams.execute(data | {"v": 0})))
    old = (dt.date.today() - dt.timedelta(days=60)).isoformat()
    assert "out of date" in invoke_message(await bot.send(bot.teams.execute(data | {"issued": old})))
    assert "out of date" in invoke_message(await bot.send(bot.teams.execute(data | {"verb": "contact.delete"})))

    malformed = [
        data | {"card_id": "../../etc/passwd"},
        data | {"summary": {"nested": "object"}},
        data | {"stakeholders": ["1"]},
        data | {"confidential": "perhaps"},
        bot.reseal(data | {"account_id": "one"}),
        bot.reseal(data | {"account_id": "²"}),  # a digit to str.isdigit, not to int()
        "just a string",
    ]
    assert "opened for someone else" in invoke_message(await bot.send(bot.teams.execute(data | {"account_id": "one"})))
    for value in malformed:
        reply = await bot.send(bot.teams.execute(value, verb="contact.save"))
        assert "couldn't read what this card sent" in invoke_message(reply), value
    for picked in ("1,x", "1,²"):
        reply = await bot.send(bot.teams.execute(data | {"stakeholders": picked}))
        assert "Choose one of the offered options" in texts_in(invoke_card(reply)), picked
    reply = await bot.send(bot.teams.execute(data | {"stakeholders": "424242"}))
    assert "not on this account" in invoke_message(reply)
    assert await bot.contact_count() == 0


async def test_action_submit_from_older_clients_updates_the_card_in_place(bot: RunningBot) -> None:
    await bot.send(bot.teams.message("log contact", user="isaiah"))
    form, message_id = last_card(bot.connector, "a:personal-isaiah")
    value = action_data(form) | GOOD_INPUT
    reply = await bot.send(bot.teams.submit(value, user="isaiah", reply_to=message_id))
    assert reply.status in (200, 201)

    update = bot.connector.in_conversation("a:personal-isaiah")[-1]
    assert update.method == "update" and update.activity_id == message_id
    assert "Contact logged: Fabrikam Logistics" in texts_in(update.cards[0])
    await bot.settle()
    post, _ = last_card(bot.connector, FABRIKAM_CHANNEL)
    assert "<at>Alex Wilber</at>" in texts_in(post)

    await bot.send(bot.teams.submit({"verb": "contact.save"}, user="isaiah", reply_to=message_id))
    assert "couldn't read" in bot.connector.in_conversation("a:personal-isaiah")[-1].activity["text"]
    assert await bot.contact_count() == 1


async def test_a_confidential_contact_is_announced_without_its_details(bot: RunningBot) -> None:
    form, _ = await open_form(bot)
    invoke_card(await save(bot, form, confidential="true", summary="Secret merger talk"))
    await bot.settle()
    post, _ = last_card(bot.connector, CONTOSO_CHANNEL)
    assert "Confidential contact" in texts_in(post)
    assert "Secret merger talk" not in texts_in(post)
    assert "<at>Megan Bowen</at>" in texts_in(post)


async def test_a_confidential_contact_submitted_in_a_channel_keeps_its_details_out_of_the_channel(
    bot: RunningBot,
) -> None:
    """Forms no longer go to channels, but one posted there before still answers where others read along."""
    form = await form_from_channel(bot, "log contact")
    data = action_data(form) | GOOD_INPUT | {"confidential": "true", "summary": "Secret merger talk"}
    logged = invoke_card(await bot.send(bot.teams.execute(data, where=CONTOSO_CHANNEL)))
    assert "Contact logged" in texts_in(logged) and "Confidential contact" in texts_in(logged)
    assert "Secret merger talk" not in texts_in(logged)


async def test_user_text_cannot_inject_markdown_links_or_mentions(bot: RunningBot) -> None:
    form, _ = await open_form(bot)
    sneaky = "[click](https://evil.example) <at>Everyone</at> **bold**\u202e"
    logged = invoke_card(await save(bot, form, summary=sneaky))
    runs = [i for e in logged["body"] if e["type"] == "RichTextBlock" for i in e["inlines"] if sneaky[:10] in i["text"]]
    assert runs and all(run["type"] == "TextRun" for run in runs)
    assert "\u202e" not in runs[0]["text"]
    await bot.settle()
    post, _ = last_card(bot.connector, CONTOSO_CHANNEL)
    assert [e["mentioned"]["name"] for e in post["msteams"]["entities"]] == ["Megan Bowen"]


async def test_the_channel_post_survives_throttling_and_outages(bot: RunningBot, connector: ConnectorFake) -> None:
    form, _ = await open_form(bot)
    connector.fail_next(429, times=2, retry_after=0.05)
    connector.fail_next(502)
    invoke_card(await save(bot, form))
    await connector.wait_for(lambda c: any(r.cards for r in c.in_conversation(CONTOSO_CHANNEL)))
    await bot.settle()
    assert len([r for r in connector.in_conversation(CONTOSO_CHANNEL) if r.cards]) == 1


async def test_a_reply_the_bot_connector_throttles_arrives_after_its_retry_after(
    bot: RunningBot, connector: ConnectorFake
) -> None:
    connector.fail_next(429, retry_after=0.2, conversation="a:personal-alex")
    before = len(connector.recorded)
    reply = await bot.send(bot.teams.message("help"))
    assert reply.status < 300 and connector.throttled == 1
    answers = [r for r in connector.recorded[before:] if r.conversation_id.startswith("a:personal-alex")]
    assert len(answers) == 1 and answers[0].cards, "the help card arrives once, not lost to the 429"


async def test_a_post_that_cannot_be_sent_now_survives_a_restart_and_is_sent_once(
    sqlite_url: str, connector: ConnectorFake
) -> None:
    from tests.support.harness import local_settings, migrate_and_seed

    await migrate_and_seed(sqlite_url)
    first = await RunningBot(local_settings(sqlite_url, outbox_sweep_seconds=3600), connector).start()
    form, _ = await open_form(first)
    # Every attempt at the channel post fails (the contact's 1:1 cards, sent beside it, go through).
    connector.fail_next(503, times=4, conversation=CONTOSO_CHANNEL)
    invoke_card(await save(first, form))
    await first.settle()
    async with first.db.transaction() as session:
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.CONTACT_LOGGED))
        assert row is not None and row.status == OutboxStatus.PENDING and row.attempts == 1
        assert "503" in (row.last_error or "")
    await first.stop()
    assert not any(r.cards for r in connector.in_conversation(CONTOSO_CHANNEL))

    second = await RunningBot(local_settings(sqlite_url), connector).start()
    try:
        await connector.wait_for(lambda c: any(r.cards for r in c.in_conversation(CONTOSO_CHANNEL)), timeout=15)
        await asyncio.sleep(0.5)
        assert len([r for r in connector.in_conversation(CONTOSO_CHANNEL) if r.cards]) == 1
        async with second.db.transaction() as session:
            row = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.CONTACT_LOGGED))
            assert row is not None and row.status == OutboxStatus.SENT
            assert await second.contact_count() == 1
    finally:
        await second.stop()


async def test_unknown_words_point_to_help(bot: RunningBot) -> None:
    await bot.send(bot.teams.message("make me a sandwich"))
    said = bot.connector.in_conversation("a:personal-alex")[-1].activity["text"]
    assert 'I don\'t know "make me a sandwich"' in said and '"help"' in said


async def test_a_tenant_outside_the_allow_list_gets_no_answer(sqlite_url: str, connector: ConnectorFake) -> None:
    from tests.support.harness import local_settings, migrate_and_seed

    await migrate_and_seed(sqlite_url)
    bot = await RunningBot(local_settings(sqlite_url, allowed_tenant_ids="another-tenant"), connector).start()
    try:
        await bot.send(bot.teams.message("help"))
        reply = await bot.send(bot.teams.execute({"verb": "contact.save"}))
        assert reply.status == 403
        assert connector.recorded == []
    finally:
        await bot.stop()


async def test_health_reports_the_database(bot: RunningBot, connector: ConnectorFake) -> None:
    healthy = await bot.get("/healthz")
    assert healthy.status == 200 and healthy.body == {"status": "ok", "database": True}

    from tests.support.harness import local_settings

    broken = await RunningBot(local_settings("postgresql+asyncpg://kambot@127.0.0.1:1/none"), connector).start()
    try:
        sick = await broken.get("/healthz")
        assert sick.status == 503 and sick.body["database"] is False
    finally:
        await broken.stop()


async def test_commands_are_understood_in_their_catalogue_aliases_and_any_case(bot: RunningBot) -> None:
    await bot.send(bot.teams.message("  My   ACCOUNTS "))
    accounts, _ = last_card(bot.connector, "a:personal-alex")
    assert "Your key accounts" in texts_in(accounts)
    await bot.send(bot.teams.message("?"))
    help_card, _ = last_card(bot.connector, "a:personal-alex")
    assert "How kambot works" in texts_in(help_card)


async def test_a_ka_manager_creates_a_key_account_from_the_chat(bot: RunningBot) -> None:
    await bot.send(bot.teams.message("new account", user="megan"))
    form, _ = last_card(bot.connector, "a:personal-megan")
    assert "New key account" in texts_in(form)
    data = action_data(form) | {
        "name": "Tailspin  Toys",
        "tier": "strategic_key_account",
        "countries": "de; at",
        "customer_domains": "tailspin.example, bad domain",
        "confidential": "false",
    }
    again = invoke_card(await bot.send(bot.teams.execute(data, user="megan")))
    assert "Not a domain name: bad domain" in texts_in(again) and "Tailspin  Toys" in texts_in(again)

    created = invoke_card(
        await bot.send(bot.teams.execute(data | {"customer_domains": "tailspin.example"}, user="megan"))
    )
    assert "Key account created" in texts_in(created) and "Tailspin Toys" in texts_in(created)
    twice = invoke_card(
        await bot.send(bot.teams.execute(data | {"name": "tailspin toys", "customer_domains": ""}, user="megan"))
    )
    assert "exists already" in texts_in(twice)

    await bot.send(bot.teams.message("accounts", user="megan"))
    accounts, _ = last_card(bot.connector, "a:personal-megan")
    assert "Tailspin Toys" in texts_in(accounts) and "Strategic Key Account" in texts_in(accounts)
    assert_valid_cards([form, again, created, twice])


async def test_members_who_manage_no_account_cannot_create_accounts(bot: RunningBot) -> None:
    await bot.send(bot.teams.message("new account", user="isaiah"))
    assert "Only KA managers and admins" in bot.connector.in_conversation("a:personal-isaiah")[-1].activity["text"]
    form_data = {
        "verb": "account.create",
        "v": 1,
        "card_id": "a" * 32,
        "issued": dt.date.today().isoformat(),
        "name": "Sneaky Corp",
        "tier": "key_account",
    }
    unsealed = invoke_message(await bot.send(bot.teams.execute(form_data, user="isaiah")))
    assert "opened for someone else" in unsealed
    refused = invoke_message(await bot.send(bot.teams.execute(bot.reseal(form_data, "isaiah"), user="isaiah")))
    assert "Only KA managers and admins" in refused
