"""The message action "Log as customer contact": a dialog prefilled from any Teams message."""

from __future__ import annotations

from typing import Any

from tests.support.cards_judge import assert_valid_cards
from tests.support.flows import GOOD_INPUT, choice_value, inputs_of, texts_in
from tests.support.harness import RunningBot
from tests.support.teams import CONTOSO_CHANNEL, USERS, message_action

FETCH = "composeExtension/fetchTask"
PAYLOAD = {
    "id": "1700000000000",
    "createdDateTime": "2026-11-20T09:30:00Z",
    "from": {"user": {"id": "29:x", "displayName": "Dr. Hanna Berger (guest)"}},
    "body": {
        "contentType": "html",
        "content": "<p>We <b>agree</b> to pay for the 2nd service visit &amp; want an offer.</p>",
    },
}


def fetch(
    bot: RunningBot, user: str = "alex", where: str = "personal", command: str = "logAsContact"
) -> dict[str, Any]:
    value = {"commandId": command, "commandContext": "message", "messagePayload": PAYLOAD}
    return message_action(bot.teams, "composeExtension/fetchTask", value, user, where)


def submit(bot: RunningBot, data: dict[str, Any], user: str = "alex", where: str = "personal") -> dict[str, Any]:
    value = {"commandId": "logAsContact", "commandContext": "message", "data": data}
    return message_action(bot.teams, "composeExtension/submitAction", value, user, where)


def dialog_card(reply: Any) -> dict[str, Any]:
    assert reply.status == 200, reply
    task = reply.body["task"]
    assert task["type"] == "continue", task
    card = task["value"]["card"]["content"]
    assert all(a["type"] == "Action.Submit" for a in card.get("actions", [])), "dialogs answer Action.Submit"
    return card


async def test_a_message_in_an_account_channel_opens_the_prefilled_form_and_is_logged(bot: RunningBot) -> None:
    form = dialog_card(await bot.send(fetch(bot, where=CONTOSO_CHANNEL)))
    text = texts_in(form)
    assert "Log a customer contact: Contoso Pharma" in text
    assert "We agree to pay for the 2nd service visit & want an offer." in text
    assert "Dr. Hanna Berger (guest)" in text and "2026-11-20" in text

    data = form["actions"][0]["data"] | {k: v for k, v in GOOD_INPUT.items() if k not in ("summary", "customer_people")}
    data |= {
        "summary": "We agree to pay for the 2nd service visit & want an offer.",
        "customer_people": "Dr. Hanna Berger",
    }
    logged = dialog_card(await bot.send(submit(bot, data, where=CONTOSO_CHANNEL)))
    assert "Contact logged: Contoso Pharma" in texts_in(logged)
    assert await bot.contact_count() == 1
    await bot.settle()
    assert any(
        r.cards and "New customer contact" in texts_in(r.cards[0])
        for r in bot.connector.in_conversation(CONTOSO_CHANNEL)
    )
    assert_valid_cards([form, logged])


async def test_in_a_chat_the_account_is_picked_first_and_the_message_is_carried_over(bot: RunningBot) -> None:
    picker = dialog_card(await bot.send(fetch(bot)))
    data = picker["actions"][0]["data"] | {"account_id": choice_value(picker, "account_id", "Fabrikam Logistics")}
    form = dialog_card(await bot.send(submit(bot, data)))
    assert "Log a customer contact: Fabrikam Logistics" in texts_in(form)
    assert "We agree to pay for the 2nd service visit" in texts_in(form)
    again = dialog_card(await bot.send(submit(bot, form["actions"][0]["data"] | {"summary": ""})))
    assert "This field is required." in texts_in(again) and await bot.contact_count() == 0


async def test_strangers_and_unknown_commands_get_a_message_not_a_form(bot: RunningBot) -> None:
    reply = await bot.send(fetch(bot, user="lynne"))
    assert reply.body["task"]["type"] == "message" and "not on any key account team" in reply.body["task"]["value"]
    reply = await bot.send(fetch(bot, command="somethingElse"))
    assert reply.body["task"]["type"] == "message" and "couldn't read" in reply.body["task"]["value"]
    reply = await bot.send(fetch(bot, user="isaiah", where=CONTOSO_CHANNEL))
    assert "not available to you" in reply.body["task"]["value"]


async def test_a_colleagues_message_prefills_them_as_one_of_ours_and_nobody_as_the_customer(bot: RunningBot) -> None:
    megan = USERS["megan"]
    by_colleague = PAYLOAD | {
        "from": {"user": {"id": megan.aad_object_id, "displayName": megan.name, "userIdentityType": "aadUser"}}
    }
    value = {"commandId": "logAsContact", "commandContext": "message", "messagePayload": by_colleague}
    form = dialog_card(await bot.send(message_action(bot.teams, FETCH, value, "alex", CONTOSO_CHANNEL)))
    inputs = inputs_of(form)
    assert not inputs["customer_people"].get("value") and not inputs["stakeholders"].get("value")
    assert inputs["participants"]["value"] == choice_value(form, "participants", "Megan Bowen")
    assert "We agree to pay for the 2nd service visit" in texts_in(form)

    data = form["actions"][0]["data"] | {"customer_people": "", "summary": "Offer for the 2nd visit"}
    again = dialog_card(await bot.send(submit(bot, data, where=CONTOSO_CHANNEL)))
    assert "Name at least one customer person" in texts_in(again) and await bot.contact_count() == 0

    guest = PAYLOAD | {"from": {"user": {"displayName": "Hanna (Contoso)", "userIdentityType": "anonymousGuest"}}}
    value = {"commandId": "logAsContact", "commandContext": "message", "messagePayload": guest}
    form = dialog_card(await bot.send(message_action(bot.teams, FETCH, value, "alex", CONTOSO_CHANNEL)))
    assert inputs_of(form)["customer_people"]["value"] == "Hanna (Contoso)"
    assert not inputs_of(form)["participants"].get("value")
