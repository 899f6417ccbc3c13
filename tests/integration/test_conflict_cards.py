"""The cards of a conflict as the people on it read them: which agreement is which, when it was agreed, and
that the earlier item's card learns of the later one."""

from __future__ import annotations

import datetime as dt

from tests.support.cards_judge import assert_valid_cards
from tests.support.flows import (
    GOOD_INPUT,
    channel_post,
    chat_cards,
    decision_form,
    invoke_card,
    log_in_channel,
    texts_in,
    verb_data,
)
from tests.support.harness import RunningBot
from tests.support.teams import CONTOSO_CHANNEL, FABRIKAM_CHANNEL

TODAY = dt.date.today()
MET_ON = TODAY - dt.timedelta(days=12)  # the meeting where it was agreed, logged only today
US_TALKS_ENDED = f'Agreement ended: "US team opened talks on a glo…" ({MET_ON})'


async def refreshed(bot: RunningBot, card: dict[str, object], user: str, where: str) -> dict[str, object]:
    """The card as `user` sees it when Teams refreshes it now."""
    data = card["refresh"]["action"]["data"]  # type: ignore[index]
    return invoke_card(await bot.send(bot.teams.execute(data, user=user, where=where)))


async def test_both_cards_of_a_free_after_paid_conflict_show_it_with_the_date_it_was_agreed(bot: RunningBot) -> None:
    paid = GOOD_INPUT | {"paid_service": "Second on-site calibration visit per year", "met_on": MET_ON.isoformat()}
    await log_in_channel(bot, "log contact", paid, user="isaiah", where=FABRIKAM_CHANNEL)
    contact_post = channel_post(bot.connector, FABRIKAM_CHANNEL, "New customer contact")

    free = decision_form("Calibration visits for Q1", "We waive the fee for the calibration visits this quarter.")
    logged = await log_in_channel(bot, "log decision", free, user="alex", where=FABRIKAM_CHANNEL)
    agreed = f'the customer agreed to pay for "Second on-site calibration visit per year" (Isaiah Langer, {MET_ON})'
    assert agreed in texts_in(logged)
    decision_post = channel_post(bot.connector, FABRIKAM_CHANNEL, "New decision")
    for card in (decision_post, chat_cards(bot.connector, "isaiah")[-1]):
        assert agreed in texts_in(card)

    # The contact's card, refreshed for the KA manager after the decision: it shows the conflict found later.
    later = 'Conflict: later, Alex Wilber gave this away free of charge ("Calibration visits for Q1", '
    contact_now = await refreshed(bot, contact_post, "alex", FABRIKAM_CHANNEL)
    assert f"{later}{TODAY.isoformat()})" in texts_in(contact_now)
    assert "Conflict" not in texts_in(contact_post), "it was not there when the contact was posted"
    assert_valid_cards([logged, contact_now])


async def test_each_framework_agreement_has_its_own_named_end_button_and_both_cards_show_the_clash(
    bot: RunningBot,
) -> None:
    us_talks = GOOD_INPUT | {
        "summary": "US team opened talks on a global framework agreement.",
        "framework_agreement": "true",
        "met_on": MET_ON.isoformat(),
    }
    await log_in_channel(bot, "log contact", us_talks, user="adele")
    contact_post = channel_post(bot.connector, CONTOSO_CHANNEL, "New customer contact")
    europe = decision_form("Global framework agreement Europe", "We sign it in Frankfurt.", category="contract")
    logged = await log_in_channel(bot, "log decision", europe, user="patti")
    since = f'("US team opened talks on a global framework agreement.", Adele Vance, since {MET_ON})'
    assert since in texts_in(logged)

    # The KA manager's card: one button per agreement, each saying which one it ends.
    megans = chat_cards(bot.connector, "megan")[-1]
    ends = [a for a in megans["actions"] if a.get("verb") == "agreement.end"]
    titles = sorted(a["title"] for a in ends)
    assert titles == [
        f'Agreement ended: "Global framework agreement Eu…" ({TODAY})',
        US_TALKS_ENDED,
    ], titles
    assert len({a["data"]["flag_id"] for a in ends}) == 2

    # Adele's contact card, refreshed for her now: the clash found later, and her agreement's own button.
    hers = await refreshed(bot, contact_post, "adele", CONTOSO_CHANNEL)
    clash = 'Conflict: a second framework agreement was opened later ("Global framework agreement Europe", '
    assert f"{clash}Patti Fernandez, {TODAY})" in texts_in(hers)
    own = [a["title"] for a in hers["actions"] if a.get("verb") == "agreement.end"]
    assert own == [US_TALKS_ENDED]

    # Ending the European one from the KA manager's card takes its button away and leaves the other.
    europe_end = next(a for a in ends if "Global" in a["title"])
    after = invoke_card(await bot.send(bot.teams.execute(europe_end["data"], user="megan")))
    left = [a["title"] for a in after.get("actions") or [] if a.get("verb") == "agreement.end"]
    assert left == [US_TALKS_ENDED]
    assert verb_data(after, "agreement.end")["flag_id"] != europe_end["data"]["flag_id"]
    assert_valid_cards([logged, megans, hers, after])


async def test_a_confidential_contacts_agreement_is_named_without_what_was_said(bot: RunningBot) -> None:
    secret = "Secret talks on a global framework agreement in Boston."
    talks = GOOD_INPUT | {"summary": secret, "framework_agreement": "true", "confidential": "true"}
    talks |= {"met_on": MET_ON.isoformat()}
    await log_in_channel(bot, "log contact", talks, user="adele")
    contact_post = channel_post(bot.connector, CONTOSO_CHANNEL, "New customer contact")
    europe = decision_form("Global framework agreement Europe", "We sign it in Frankfurt.", category="contract")
    await log_in_channel(bot, "log decision", europe, user="patti")

    decision_post = channel_post(bot.connector, CONTOSO_CHANNEL, "New decision")
    megans = chat_cards(bot.connector, "megan")[-1]
    adeles_view = await refreshed(bot, contact_post, "adele", CONTOSO_CHANNEL)
    for card in (decision_post, megans, adeles_view):
        assert "Boston" not in str(card) and "Secret talks" not in str(card)
    assert f'("confidential contact", Adele Vance, since {MET_ON})' in texts_in(decision_post)
    ends = [a["title"] for a in megans["actions"] if a.get("verb") == "agreement.end"]
    assert f'Agreement ended: "confidential contact" ({MET_ON})' in ends
    assert [a["title"] for a in adeles_view["actions"] if a.get("verb") == "agreement.end"] == [
        f'Agreement ended: "confidential contact" ({MET_ON})'
    ]
    assert_valid_cards([decision_post, megans, adeles_view])


async def test_a_confidential_contacts_paid_service_stays_out_of_every_card(bot: RunningBot) -> None:
    paid = GOOD_INPUT | {
        "paid_service": "Second on-site calibration visit per year, Zebra line",
        "confidential": "true",
    }
    await log_in_channel(bot, "log contact", paid, user="isaiah", where=FABRIKAM_CHANNEL)
    free = decision_form("Calibration visits for Q1", "We waive the fee for the calibration visits this quarter.")
    logged = await log_in_channel(bot, "log decision", free, user="alex", where=FABRIKAM_CHANNEL)

    contact_post = channel_post(bot.connector, FABRIKAM_CHANNEL, "New customer contact")
    decision_post = channel_post(bot.connector, FABRIKAM_CHANNEL, "New decision")
    for card in (contact_post, decision_post, logged, *chat_cards(bot.connector, "isaiah")):
        assert "Zebra" not in texts_in(card)
    assert 'the customer agreed to pay for "confidential contact" (Isaiah Langer' in texts_in(decision_post)
