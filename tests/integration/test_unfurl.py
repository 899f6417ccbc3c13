"""Link unfurling: a pasted kambot link becomes the account's summary card, for its team only.

Everyone else, every account that does not exist or may not be named there, and every link
that is not kambot's get one and the same answer, byte for byte.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, update

from bot.links import account_link
from graph.provisioning import tab_specs
from kam.contacts import LogContact, log_contact
from kam.models import Account, ContactKind, Person
from tests.support.cards_judge import assert_valid_cards
from tests.support.fakes.connector import ConnectorFake
from tests.support.flows import texts_in
from tests.support.harness import RunningBot, local_settings, migrate_and_seed
from tests.support.teams import CONTOSO_CHANNEL, FABRIKAM_CHANNEL, GROUP_CHAT, MEETING_CHAT, message_action

QUERY_LINK = "composeExtension/queryLink"
CONTOSO, FABRIKAM, MISSING = 1, 2, 999_999
NOT_CACHED = {"actions": [{"type": "setCachePolicy", "value": '{"type":"no-cache"}'}]}
NOTHING = {
    "composeExtension": {
        "type": "result",
        "attachmentLayout": "list",
        "attachments": [],
        "suggestedActions": NOT_CACHED,
    }
}


def base(bot: RunningBot) -> str:
    return bot.settings.public_base_url


def paste(bot: RunningBot, url: Any, user: str = "alex", where: str = "personal") -> dict[str, Any]:
    """The invoke Teams sends when `url` is pasted into the compose box of `where`."""
    return message_action(bot.teams, QUERY_LINK, {"url": url}, user, where)


async def unfurl(bot: RunningBot, url: Any, user: str = "alex", where: str = "personal") -> dict[str, Any]:
    reply = await bot.send(paste(bot, url, user, where))
    assert reply.status == 200, reply
    return dict(reply.body)


def the_card(answer: dict[str, Any]) -> dict[str, Any]:
    result = answer["composeExtension"]
    assert result["type"] == "result" and result["suggestedActions"] == NOT_CACHED
    [attachment] = result["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    return attachment


async def test_a_team_member_pasting_an_account_link_or_a_tab_link_gets_the_summary_card(bot: RunningBot) -> None:
    async with bot.db.transaction() as session:
        alex = await session.scalar(select(Person).where(Person.name == "Alex Wilber"))
        contoso = await session.get(Account, CONTOSO)
        assert contoso is not None
        tabs = [tab.content_url for tab in tab_specs(contoso, base(bot))]  # the addresses provisioning gives the tabs
        await log_contact(
            session, LogContact(CONTOSO, alex, "u" * 32, dt.date.today(), ContactKind.CALL, "Hi", "Hanna Berger")
        )
    assert len(tabs) == 4 and all("/tabs/" in tab for tab in tabs)

    cards = []
    for url in (account_link(base(bot), CONTOSO), *tabs):
        attachment = the_card(await unfurl(bot, url, user="alex", where=GROUP_CHAT))
        assert attachment["preview"] == {
            "contentType": "application/vnd.microsoft.card.thumbnail",
            "content": {"title": "Contoso Pharma"},
        }
        card = attachment["content"]
        text = texts_in(card)
        assert "Contoso Pharma" in text and "Strategic Key Account" in text and "KA manager: Megan Bowen" in text
        assert "1 contact(s), 0 decision(s)" in text
        assert card["version"] == "1.3", "link unfurling renders Adaptive Cards up to 1.3"
        cards.append(card)
    assert_valid_cards(cards)  # judged as the version they declare: nothing newer than 1.3 in them

    # The card is the same wherever the team member pastes the link, their own account's channel included.
    for where in ("personal", MEETING_CHAT, CONTOSO_CHANNEL):
        assert texts_in(the_card(await unfurl(bot, account_link(base(bot), CONTOSO), "megan", where))["content"])
    fabrikam = the_card(await unfurl(bot, account_link(base(bot), FABRIKAM), "isaiah", FABRIKAM_CHANNEL))
    assert "Fabrikam Logistics" in texts_in(fabrikam["content"])


async def test_everyone_else_and_everything_else_gets_the_same_empty_answer(bot: RunningBot) -> None:
    contoso_link = account_link(base(bot), CONTOSO)
    missing = await unfurl(bot, account_link(base(bot), MISSING))
    assert missing == NOTHING, "no card, no message, and not kept by Teams"
    answers = {
        "on another account's team": await unfurl(bot, contoso_link, user="isaiah"),
        "on no team": await unfurl(bot, contoso_link, user="lynne", where=GROUP_CHAT),
        "unknown to kambot": await unfurl(bot, contoso_link, user="sam", where=GROUP_CHAT),
        "a tab of an account not theirs": await unfurl(bot, f"{base(bot)}/tabs/plan?account={CONTOSO}", "isaiah"),
        "a tab of no account": await unfurl(bot, f"{base(bot)}/tabs/log?account={MISSING}"),
        "in another account's channel": await unfurl(bot, contoso_link, user="megan", where=FABRIKAM_CHANNEL),
        "their other account in this one's channel": await unfurl(
            bot, account_link(base(bot), FABRIKAM), where=CONTOSO_CHANNEL
        ),
        "a foreign site": await unfurl(bot, f"https://contoso.example/accounts/{CONTOSO}"),
        "another port of our host": await unfurl(bot, contoso_link.replace(":3978", ":3979")),
        "another scheme": await unfurl(bot, contoso_link.replace("http://", "https://")),
        "a page of ours that names no account": await unfurl(bot, f"{base(bot)}/privacy"),
    }
    different = {why: answer for why, answer in answers.items() if answer != missing}
    assert not different, different


async def test_a_link_to_no_account_is_answered_with_the_same_queries_as_one_to_an_account_not_yours(
    sqlite_url: str, connector: ConnectorFake
) -> None:
    """Not only the same answer: the same statements, so that neither tells an id that exists from one that does not."""
    await migrate_and_seed(sqlite_url)
    bot = await RunningBot(local_settings(sqlite_url, background_jobs=False), connector).start()

    async def answer(account_id: int) -> tuple[dict[str, Any], list[str]]:
        with bot.statements_seen() as seen:
            answered = await unfurl(bot, account_link(base(bot), account_id), user="lynne")
        return answered, seen

    try:
        await answer(998)  # her first turn also stores where she talks to the bot
        missing, forbidden = await answer(MISSING), await answer(CONTOSO)
    finally:
        await bot.stop()
    assert missing[0] == forbidden[0] == NOTHING
    assert missing[1] == forbidden[1], "the same statements for an account that is not there and one that is"
    assert len(missing[1]) >= 2, "the account looked up, and who asks"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "x" * 100_000,
        "javascript:alert(1)//localhost:3978/accounts/1",
        "file:///etc/passwd",
        "data:text/html,<b>1</b>",
        "mailto:someone@localhost",
        "http://localhost:3978/accounts/1\n",
        "http://localhost:3978/acc\nounts/1",
        "http://localhost:3978/accounts/%31",
        "http://localhost:3978/accounts/١",
        "http://localhost:3978/accounts/01",
        "http://localhost:3978/accounts/0",
        "http://localhost:3978/accounts/1234567890",
        "http://localhost:3978/accounts/1/",
        "http://localhost:3978/accounts/1?account=2",
        "http://localhost:3978//accounts/1",
        "http://localhost:3978/tabs/../accounts/1",
        "http://localhost:3978/tabs/plan?account=1&account=2",
        "http://localhost:3978/tabs/plan?account=1&theme=dark",
        "http://localhost:3978/tabs/plan?account=-1",
        "http://localhost:3978/tabs/secret?account=1",
        "http://localhost:99999/accounts/1",
        "http://localhost:port/accounts/1",
        "http://alex@localhost:3978/accounts/1",
        "http://localhost:3978@evil.example/accounts/1",
        "http://[::1/accounts/1",
        "http://localhost.:3978/accounts/1",
        "//localhost:3978/accounts/1",
        "/accounts/1",
    ],
)
async def test_odd_links_name_no_account(bot: RunningBot, url: str) -> None:
    answer = await unfurl(bot, url)
    assert answer == NOTHING


@pytest.mark.parametrize(
    "value", [None, {}, {"url": None}, {"url": 1}, {"url": ["http://localhost:3978/accounts/1"]}, "x"]
)
async def test_an_invoke_that_carries_no_link_is_a_bad_request(bot: RunningBot, value: Any) -> None:
    activity = message_action(bot.teams, QUERY_LINK, {})
    activity["value"] = value
    reply = await bot.send(activity)
    assert reply.status == 400, reply


async def test_a_link_unfurls_the_same_for_a_member_whether_or_not_the_link_was_pasted_before(bot: RunningBot) -> None:
    """Nothing is kept between pastes: an outsider's empty answer does not hide the card from the team."""
    link = account_link(base(bot), CONTOSO)
    assert await unfurl(bot, link, user="lynne") == NOTHING
    assert the_card(await unfurl(bot, link, user="alex"))
    assert await unfurl(bot, link, user="lynne") == NOTHING


async def test_confidential_details_never_reach_an_unfurled_card(bot: RunningBot) -> None:
    secret = "Customer will switch suppliers in March"
    async with bot.db.transaction() as session:
        megan = await session.scalar(select(Person).where(Person.name == "Megan Bowen"))
        await log_contact(
            session,
            LogContact(
                CONTOSO,
                megan,
                "c" * 32,
                dt.date.today(),
                ContactKind.MEETING,
                secret,
                "Tom Richter",
                customer_asked=secret,
                we_committed=secret,
                next_steps=secret,
                confidential=True,
            ),
        )
    link = account_link(base(bot), CONTOSO)
    for where in ("personal", GROUP_CHAT, CONTOSO_CHANNEL):
        answer = await unfurl(bot, link, user="megan", where=where)
        assert secret not in json.dumps(answer) and "Tom Richter" not in json.dumps(answer)
        assert "1 contact(s)" in texts_in(the_card(answer)["content"]), "that it happened, never what was said"

    # A confidential account is named only where nobody else reads along; a pasted link's card is
    # read by everyone in the conversation, wherever it is pasted: no card, even for its KA manager.
    async with bot.db.transaction() as session:
        await session.execute(update(Account).where(Account.id == CONTOSO).values(confidential=True))
    for where in ("personal", GROUP_CHAT, CONTOSO_CHANNEL):
        assert await unfurl(bot, link, user="megan", where=where) == await unfurl(bot, account_link(base(bot), MISSING))


async def test_the_account_link_opened_in_a_browser_says_what_it_is_for_and_names_nothing(bot: RunningBot) -> None:
    async with aiohttp.ClientSession() as http:
        pages = {}
        for account in (CONTOSO, FABRIKAM, MISSING):
            async with http.get(f"{bot.url}/accounts/{account}") as r:
                assert r.status == 200 and r.headers["Cache-Control"] == "no-store"
                pages[account] = await r.text()
        async with http.get(f"{bot.url}/accounts/{CONTOSO}", headers={"Accept-Language": "de-DE"}) as r:
            german = await r.text()
        statuses = []
        for path in ("/accounts/abc", "/accounts/0", "/accounts/1234567890", "/accounts/"):
            async with http.get(f"{bot.url}{path}") as r:
                statuses.append(r.status)
    assert len(set(pages.values())) == 1, "the same page whatever the id"
    page = pages[CONTOSO]
    assert "Paste it into a Teams chat" in page and "Contoso" not in page and "Fabrikam" not in page
    assert "Fügen Sie ihn in einen Teams-Chat" in german
    assert statuses == [404, 404, 404, 404]
