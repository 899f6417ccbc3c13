"""The three checks where languages and legal entities meet, over HTTP, with the demo company's service catalogue:
a paid service agreed in German and given away in English, a service picked from the catalogue and given away in
Italian, two framework agreements of one customer group, a country bargain in a group member's country, and the
way out of a false alarm. Each card says why its check fired."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from kam.checks import dismissed_conflicts
from kam.models import Account, Flag, FlagKind
from tests.support.cards_judge import assert_valid_cards
from tests.support.fakes.connector import ConnectorFake
from tests.support.flows import (
    GOOD_INPUT,
    action_data,
    channel_post,
    chat_cards,
    choice_value,
    decision_form,
    form_from_channel,
    invoke_card,
    invoke_message,
    last_card,
    log_in_channel,
    texts_in,
)
from tests.support.harness import RunningBot, local_settings, migrate_and_seed
from tests.support.teams import CONTOSO_CHANNEL, FABRIKAM_CHANNEL

CATALOGUE = Path(__file__).resolve().parents[2] / "deploy" / "services.example.yaml"
TODAY = dt.date.today()
CONTOSO, FABRIKAM = 1, 2  # the demo's accounts: Contoso Pharma (DE, AT, CH), Fabrikam Logistics (US, MX)


@pytest.fixture
async def bot(sqlite_url: str, connector: ConnectorFake) -> AsyncIterator[RunningBot]:
    """The demo bot with the demo company's service catalogue."""
    await migrate_and_seed(sqlite_url)
    running = await RunningBot(local_settings(sqlite_url, services_file=str(CATALOGUE)), connector).start()
    yield running
    await running.stop()


async def one_group(bot: RunningBot) -> None:
    """Fabrikam Logistics, the US entity, in the customer group of Contoso Pharma, as the account list's `group`
    column puts it (tests/integration/test_account_list.py imports that column)."""
    async with bot.db.transaction() as session:
        await session.execute(update(Account).where(Account.id == FABRIKAM).values(customer_group="Contoso Pharma"))


async def conflicts(bot: RunningBot, kind: FlagKind) -> list[Flag]:
    async with bot.db.transaction() as session:
        return list(await session.scalars(select(Flag).where(Flag.kind == kind).order_by(Flag.id)))


def dismiss_button(card: dict[str, Any]) -> dict[str, Any]:
    """The data of "Not a conflict": the ShowCard's own submit button, with the reason input's id."""
    shown = [a for a in card.get("actions") or [] if a.get("type") == "Action.ShowCard"]
    assert shown, f"no 'Not a conflict' on the card: {texts_in(card)}"
    inner = shown[0]["card"]
    reason = inner["body"][0]["id"]
    return {**inner["actions"][0]["data"], "_reason_input": reason}


async def test_a_service_agreed_in_german_and_given_away_in_english_is_flagged_with_why(bot: RunningBot) -> None:
    paid = GOOD_INPUT | {"paid_service": "Vor-Ort-Schulung für 12 Bediener in Monterrey"}
    await log_in_channel(bot, "log contact", paid, user="isaiah", where=FABRIKAM_CHANNEL)

    free = decision_form("Monterrey operators", "We run the on-site training for the new operators free of charge.")
    logged = await log_in_channel(bot, "log decision", free, user="alex", where=FABRIKAM_CHANNEL)
    said = texts_in(logged)
    assert 'the customer agreed to pay for "Vor-Ort-Schulung für 12 Bediener in Monterrey"' in said
    assert "Why: both are the service “On-site training” (“Vor-Ort-Schulung” / “on-site training”)." in said
    assert "Given free: “free of charge”." in said
    post = channel_post(bot.connector, FABRIKAM_CHANNEL, "New decision")
    assert "Why: both are the service “On-site training”" in texts_in(post)

    # The same site and the same word, another thing given away: no conflict.
    parking = decision_form("Monterrey visitors", "Free parking at the site for all visitors of the training.")
    quiet = await log_in_channel(bot, "log decision", parking, user="alex", where=FABRIKAM_CHANNEL)
    assert "Conflict" not in texts_in(quiet) and "Given free of charge (a concession)." in texts_in(quiet)
    assert len(await conflicts(bot, FlagKind.FREE_AFTER_PAID)) == 1
    assert_valid_cards([logged, post, quiet])


async def test_a_service_picked_from_the_catalogue_matches_its_italian_name(bot: RunningBot) -> None:
    form = await form_from_channel(bot, "log contact", user="isaiah", where=FABRIKAM_CHANNEL)
    installation = choice_value(form, "paid_service_id", "Installation")
    paid = GOOD_INPUT | {"paid_service_id": installation, "summary": "Hub 3 conveyor: they pay for the installation."}
    contact = invoke_card(await bot.send(bot.teams.execute(action_data(form) | paid, user="isaiah")))
    await bot.settle()
    assert "The customer agreed to pay for: Installation." in texts_in(contact)

    gift = decision_form("Stabilimento di Monterrey", "Montaggio del nastro in omaggio per il cliente.")
    logged = await log_in_channel(bot, "log decision", gift, user="alex", where=FABRIKAM_CHANNEL)
    said = texts_in(logged)
    assert 'the customer agreed to pay for "Installation"' in said
    assert "Why: both are the service “Installation” (“Installation” / “Montaggio”)." in said
    assert "Given free: “in omaggio”." in said

    # A service the catalogue does not have is refused as the choice it claims to be, and nothing is lost.
    again = await form_from_channel(bot, "log contact", user="isaiah", where=FABRIKAM_CHANNEL)
    forged = GOOD_INPUT | {"paid_service_id": "free-everything", "summary": "Kept on the form."}
    answer = invoke_card(await bot.send(bot.teams.execute(action_data(again) | forged, user="isaiah")))
    assert "Please correct the marked fields." in texts_in(answer) and "Kept on the form." in str(answer)
    assert_valid_cards([form, contact, logged, answer])


async def test_two_framework_agreements_of_one_customer_group_are_flagged_to_both_owners_and_managers(
    bot: RunningBot,
) -> None:
    await one_group(bot)
    talks = GOOD_INPUT | {
        "summary": "Rahmenvertrag für alle Werke: Verhandlung gestartet.",
        "framework_agreement": "true",
    }
    await log_in_channel(bot, "log contact", talks, user="adele")
    contact_post = channel_post(bot.connector, CONTOSO_CHANNEL, "New customer contact")
    megan_before, adele_before = len(chat_cards(bot.connector, "megan")), len(chat_cards(bot.connector, "adele"))

    us = decision_form(
        "Master supply agreement for the US hubs", "We open talks on a master supply agreement.", category="contract"
    )
    logged = await log_in_channel(bot, "log decision", us, user="isaiah", where=FABRIKAM_CHANNEL)
    said = texts_in(logged)
    assert "Conflict: another framework agreement is open for the same customer group" in said
    assert "Adele Vance on Contoso Pharma" in said
    assert "Why: “Master supply agreement” / “Rahmenvertrag”: each opens a framework agreement." in said
    assert "Both are with the same customer group." in said

    # Fabrikam's KA manager is asked to acknowledge it; Contoso's KA manager and the other agreement's owner hear
    # of it in their own chats, on their own item, which names the US entity's agreement.
    alexs = chat_cards(bot.connector, "alex")[-1]
    assert "another framework agreement is open for the same customer group" in texts_in(alexs)
    for person, before in (("megan", megan_before), ("adele", adele_before)):
        told = [c for c in chat_cards(bot.connector, person)[before:] if "same customer group" in texts_in(c)]
        assert told, f"{person} was not told"
        text = texts_in(told[-1])
        assert "A framework agreement was opened for Fabrikam Logistics, of the same customer group as Contoso" in text
        assert "Conflict: a second framework agreement was opened later for the same customer group" in text
        assert '("Master supply agreement for the US hubs", Isaiah Langer on Fabrikam Logistics' in text
    assert "Conflict" not in texts_in(contact_post), "the channel post was sent before the clash"
    assert len(await conflicts(bot, FlagKind.PARALLEL_FRAMEWORK)) == 1
    assert_valid_cards([logged, alexs, told[-1]])


async def test_accounts_in_no_group_keep_their_framework_agreements_apart(bot: RunningBot) -> None:
    talks = GOOD_INPUT | {
        "summary": "Rahmenvertrag für alle Werke: Verhandlung gestartet.",
        "framework_agreement": "true",
    }
    await log_in_channel(bot, "log contact", talks, user="adele")
    us = decision_form("Master supply agreement", "We open talks on a master supply agreement.", category="contract")
    logged = await log_in_channel(bot, "log decision", us, user="isaiah", where=FABRIKAM_CHANNEL)
    assert "Conflict" not in texts_in(logged)
    assert await conflicts(bot, FlagKind.PARALLEL_FRAMEWORK) == []


async def test_a_country_bargain_in_one_members_country_is_a_risk_to_the_whole_group(bot: RunningBot) -> None:
    await one_group(bot)
    await bot.send(bot.teams.message("log price action", user="patti"))
    form, _ = last_card(bot.connector, "a:personal-patti")
    bargain = {"title": "Promoción de otoño: 20 % en bombas", "countries": "mx", "starts_on": TODAY.isoformat()}
    logged = invoke_card(await bot.send(bot.teams.execute(action_data(form) | bargain, user="patti")))
    await bot.settle()
    assert "Contoso Pharma" in texts_in(logged) and "1 more key account(s) you are not on" in texts_in(logged)
    contoso = channel_post(bot.connector, CONTOSO_CHANNEL, "Global price risk: Contoso Pharma")
    why = "Why: Fabrikam Logistics, of the same customer group, has sites in MX: a price agreed with the whole group"
    assert why in texts_in(contoso)
    fabrikam = channel_post(bot.connector, FABRIKAM_CHANNEL, "Global price risk: Fabrikam Logistics")
    assert "applies in MX, where this key account has sites" in texts_in(fabrikam)
    megans = chat_cards(bot.connector, "megan")[-1]
    assert why in texts_in(megans)
    assert_valid_cards([logged, contoso, fabrikam, megans])


async def test_a_false_alarm_is_marked_not_a_conflict_with_a_reason_the_ka_manager_sees(bot: RunningBot) -> None:
    paid = GOOD_INPUT | {"paid_service": "Vor-Ort-Schulung für 12 Bediener in Monterrey"}
    await log_in_channel(bot, "log contact", paid, user="isaiah", where=FABRIKAM_CHANNEL)
    free = decision_form("Monterrey operators", "The on-site training of the new hires is free of charge.")
    await log_in_channel(bot, "log decision", free, user="alex", where=FABRIKAM_CHANNEL)
    isaiahs = chat_cards(bot.connector, "isaiah")[-1]  # asked to acknowledge: his paid service is given away
    button = dismiss_button(isaiahs)
    reason_input = button.pop("_reason_input")

    # No reason: told what is missing, nothing changes.
    empty = await bot.send(bot.teams.execute(button | {reason_input: "  "}, user="isaiah"))
    assert invoke_message(empty) == "Say why this is not a conflict: the KA manager sees it."
    assert (await conflicts(bot, FlagKind.FREE_AFTER_PAID))[0].dismissed_at is None

    alex_before = len(chat_cards(bot.connector, "alex"))
    reason = "The new hires were never part of the paid training: only the 12 operators are."
    marked = invoke_card(await bot.send(bot.teams.execute(button | {reason_input: reason}, user="isaiah")))
    await bot.settle()
    text = texts_in(marked)
    assert f'Marked "not a conflict" by Isaiah Langer ({TODAY}): {reason}' in text
    assert "the customer agreed to pay for" in text, "the conflict stays in the item's history"
    assert not [a for a in marked.get("actions") or [] if a.get("type") == "Action.ShowCard"]

    # The KA manager (who logged the decision here) hears who and why on his own card of it.
    told = [c for c in chat_cards(bot.connector, "alex")[alex_before:] if "not a conflict" in texts_in(c)]
    assert told and "Isaiah Langer marked a conflict on this item" in texts_in(told[-1])
    assert reason in texts_in(told[-1])
    async with bot.db.transaction() as session:
        assert await dismissed_conflicts(session, [FABRIKAM]) == {FABRIKAM: 1}
    assert_valid_cards([isaiahs, marked, told[-1]])


async def test_a_service_the_group_agreed_to_pay_for_given_away_by_a_sister_entity_is_flagged_to_both(
    bot: RunningBot,
) -> None:
    await one_group(bot)
    paid = GOOD_INPUT | {"paid_service": "Formación de operarios en todas las plantas del grupo"}
    await log_in_channel(bot, "log contact", paid, user="adele")
    megan_before = len(chat_cards(bot.connector, "megan"))

    free = decision_form("Memphis hub", "Operator training for the hub team, at no charge.")
    logged = await log_in_channel(bot, "log decision", free, user="isaiah", where=FABRIKAM_CHANNEL)
    said = texts_in(logged)
    assert 'Conflict: the customer group agreed to pay for "Formación de operarios' in said
    assert "Adele Vance on Contoso Pharma" in said
    assert "Why: both are the service “On-site training” (“Formación” / “Operator training”)." in said
    told = [c for c in chat_cards(bot.connector, "megan")[megan_before:] if "same customer group" in texts_in(c)]
    assert told, "Contoso's KA manager hears of it on her own account's item"
    text = texts_in(told[-1])
    assert "was given away free of charge for Fabrikam Logistics, of the same customer group as Contoso Pharma" in text
    assert "gave this away free of charge for the same customer group" in text
    assert_valid_cards([logged, told[-1]])


async def test_a_confidential_sister_account_is_neither_named_nor_located_on_the_others_cards(bot: RunningBot) -> None:
    await one_group(bot)
    async with bot.db.transaction() as session:
        await session.execute(update(Account).where(Account.id == FABRIKAM).values(confidential=True))
    await bot.send(bot.teams.message("log price action", user="patti"))
    form, _ = last_card(bot.connector, "a:personal-patti")
    bargain = {"title": "Promoción de otoño", "countries": "mx", "starts_on": TODAY.isoformat()}
    await bot.send(bot.teams.execute(action_data(form) | bargain, user="patti"))
    await bot.settle()
    contoso = channel_post(bot.connector, CONTOSO_CHANNEL, "Global price risk: Contoso Pharma")
    text = texts_in(contoso)
    assert "applies where another account of this customer group has sites" in text
    assert "Why: 1 confidential account(s), of the same customer group, has sites there" in text
    assert "Fabrikam" not in str(contoso) and "MX" not in text.split("Why:")[1]
    assert_valid_cards([contoso])


async def test_marking_a_group_clash_not_a_conflict_tells_the_other_entitys_ka_manager(bot: RunningBot) -> None:
    await one_group(bot)
    talks = GOOD_INPUT | {
        "summary": "Rahmenvertrag für alle Werke: Verhandlung gestartet.",
        "framework_agreement": "true",
    }
    await log_in_channel(bot, "log contact", talks, user="adele")
    megan_before = len(chat_cards(bot.connector, "megan"))
    us = decision_form(
        "Master supply agreement, US hubs", "We open talks on a master supply agreement.", category="contract"
    )
    await log_in_channel(bot, "log decision", us, user="isaiah", where=FABRIKAM_CHANNEL)
    megans = [c for c in chat_cards(bot.connector, "megan")[megan_before:] if "same customer group" in texts_in(c)][-1]

    # Contoso's KA manager answers on her own item's card: Fabrikam's KA manager (Alex) hears of it, and she is
    # not told of her own answer.
    button = dismiss_button(megans)
    reason_input = button.pop("_reason_input")
    alex_before, megan_after = len(chat_cards(bot.connector, "alex")), len(chat_cards(bot.connector, "megan"))
    reason = "The US talks are about the US hubs only; the group agreement excludes them."
    marked = invoke_card(await bot.send(bot.teams.execute(button | {reason_input: reason}, user="megan")))
    await bot.settle()
    assert f'Marked "not a conflict" by Megan Bowen ({TODAY}): {reason}' in texts_in(marked)
    alexs = [c for c in chat_cards(bot.connector, "alex")[alex_before:] if "not a conflict" in texts_in(c)]
    assert alexs and "Master supply agreement, US hubs" in texts_in(alexs[-1]), "Fabrikam's own item"
    assert not [c for c in chat_cards(bot.connector, "megan")[megan_after:] if "not a conflict" in texts_in(c)]
    async with bot.db.transaction() as session:
        assert await dismissed_conflicts(session, [CONTOSO, FABRIKAM]) == {FABRIKAM: 1}
    assert_valid_cards([marked, alexs[-1]])
