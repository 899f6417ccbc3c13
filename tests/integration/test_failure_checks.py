"""The three failures of KAM.md, each with its own data: paid then free, two framework agreements, a country price."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from kam.models import Flag, FlagKind, PriceAction
from tests.support.cards_judge import assert_valid_cards
from tests.support.flows import (
    GOOD_INPUT,
    action_data,
    channel_post,
    chat_cards,
    decision_form,
    invoke_card,
    invoke_message,
    last_card,
    log_in_channel,
    texts_in,
    verb_data,
)
from tests.support.harness import RunningBot
from tests.support.teams import CONTOSO_CHANNEL, FABRIKAM_CHANNEL

TODAY = dt.date.today().isoformat()


async def flags(bot: RunningBot, kind: FlagKind) -> list[Flag]:
    async with bot.db.transaction() as session:
        return list(await session.scalars(select(Flag).where(Flag.kind == kind).order_by(Flag.id)))


async def test_a_free_concession_on_what_the_customer_agreed_to_pay_for_is_flagged(bot: RunningBot) -> None:
    paid = GOOD_INPUT | {"paid_service": "Second on-site calibration visit per year"}
    await log_in_channel(bot, "log contact", paid, user="isaiah", where=FABRIKAM_CHANNEL)
    told = chat_cards(bot.connector, "alex")[-1]
    assert "The customer agreed to pay for: Second on-site calibration visit per year." in texts_in(told)
    assert "do not offer it free of charge" in texts_in(told)

    # The KA manager gives it away without ticking "free of charge": the words give it away.
    free = decision_form("Calibration visits for Q1", "We waive the fee for the calibration visits this quarter.")
    logged = await log_in_channel(bot, "log decision", free, user="alex", where=FABRIKAM_CHANNEL)
    conflict = 'Conflict: the customer agreed to pay for "Second on-site calibration visit per year" (Isaiah Langer'
    assert conflict in texts_in(logged)
    assert conflict in texts_in(channel_post(bot.connector, FABRIKAM_CHANNEL, "New decision"))
    isaiahs = chat_cards(bot.connector, "isaiah")[-1]
    assert conflict in texts_in(isaiahs)
    assert "this gives away free what the customer agreed to pay for" in texts_in(isaiahs)

    unrelated = decision_form("Training seats", "Two training seats free of charge.", concession="false")
    other = await log_in_channel(bot, "log decision", unrelated, user="alex", where=FABRIKAM_CHANNEL)
    assert "Conflict" not in texts_in(other) and "Given free of charge" in texts_in(other)
    assert len(await flags(bot, FlagKind.FREE_AFTER_PAID)) == 1
    assert_valid_cards([told, logged, isaiahs, other])


async def test_a_second_open_framework_agreement_is_flagged_to_both_owners_and_the_ka_manager(bot: RunningBot) -> None:
    negotiation = GOOD_INPUT | {
        "summary": "US team opened talks on a global framework agreement.",
        "framework_agreement": "true",
    }
    await log_in_channel(bot, "log contact", negotiation, user="adele")
    europe = decision_form(
        "Global framework agreement Europe", "We sign the global framework agreement in Frankfurt.", category="contract"
    )
    logged = await log_in_channel(bot, "log decision", europe, user="patti")
    conflict = "Conflict: another framework agreement is open for this account"
    assert conflict in texts_in(logged) and "Adele Vance" in texts_in(logged)

    adeles = chat_cards(bot.connector, "adele")[-1]
    megans = chat_cards(bot.connector, "megan")[-1]
    for card in (adeles, megans):
        assert conflict in texts_in(card)
        assert "a second framework agreement is open for this account" in texts_in(card)

    # Adele's negotiation is over: she says so on her card, and it no longer clashes.
    ended = invoke_card(await bot.send(bot.teams.execute(verb_data(adeles, "agreement.end"), user="adele")))
    assert "agreement.end" not in [a.get("verb") for a in ended.get("actions") or []]
    refused = invoke_message(await bot.send(bot.teams.execute(verb_data(adeles, "agreement.end"), user="alex")))
    assert "Only whoever recorded this framework agreement, or a KA manager" in refused
    renewal = decision_form("Framework agreement renewal", "We renew the framework agreement.", category="contract")
    third = await log_in_channel(bot, "log decision", renewal, user="alex")
    assert conflict in texts_in(third) and "Patti Fernandez" in texts_in(third) and "Adele Vance" not in texts_in(third)
    assert len(await flags(bot, FlagKind.PARALLEL_FRAMEWORK)) == 2
    assert_valid_cards([logged, adeles, megans, ended, third])


async def test_a_country_price_action_warns_the_key_accounts_with_sites_there(bot: RunningBot) -> None:
    await bot.send(bot.teams.message("log price action", user="patti"))
    form, _ = last_card(bot.connector, "a:personal-patti")
    base = action_data(form)

    wrong = {
        "title": "Autumn bargain",
        "countries": "Germany",
        "starts_on": TODAY,
        "ends_on": (dt.date.today() - dt.timedelta(days=3)).isoformat(),
    }
    again = invoke_card(await bot.send(bot.teams.execute(base | wrong, user="patti")))
    assert "Not a two-letter country code: GERMANY" in texts_in(again)
    assert "The end is before the start." in texts_in(again)

    good = {"title": "Autumn bargain: 15 % off all pumps", "countries": "de, fr", "starts_on": TODAY}
    logged = invoke_card(await bot.send(bot.teams.execute(base | good, user="patti")))
    await bot.settle()
    assert "Contoso Pharma" in texts_in(logged) and "Fabrikam" not in texts_in(logged)
    post = channel_post(bot.connector, CONTOSO_CHANNEL, "Global price risk: Contoso Pharma")
    assert "this price action applies in DE, where this key account has sites" in texts_in(post)
    megans = chat_cards(bot.connector, "megan")[-1]
    assert "Global price risk: Contoso Pharma" in texts_in(megans)
    assert "a country price action may become this key account's global price" in texts_in(megans)
    assert not [r for r in bot.connector.in_conversation(FABRIKAM_CHANNEL) if r.cards], "no sites in DE or FR"

    await bot.send(bot.teams.message("log price action", user="lynne"))
    assert "Only people on a key account team may log price actions" in bot.connector.recorded[-1].activity["text"]
    async with bot.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(PriceAction)) == 1
    assert_valid_cards([form, again, logged, post, megans])
