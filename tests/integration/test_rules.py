"""Communication rules: who must be informed about what, who may decide what."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kam.account_list import AccountRow, Member, apply_rows
from kam.decisions import LogDecision, log_decision
from kam.models import Account, DecisionCategory, Person, Role, Tier
from kam.rules import Rules, RulesFileError, must_inform
from kam.storage import Database
from tests.support.cards_judge import assert_valid_cards
from tests.support.flows import (
    DECISION,
    GOOD_INPUT,
    action_data,
    channel_post,
    form_from_channel,
    invoke_card,
    invoke_message,
    last_card,
    log_in_channel,
    texts_in,
)
from tests.support.harness import RunningBot, bot_with_rules, migrate_and_seed
from tests.support.teams import CONTOSO_CHANNEL

TEAM = (
    Member("kam@contoso.test", Role.MANAGER, None),
    Member("lead-de@contoso.test", Role.MEMBER, "Country Lead"),
    Member("cfo-office@contoso.test", Role.MEMBER, "finance"),
    Member("field@contoso.test", Role.MEMBER, "sales"),
)


@pytest.fixture
async def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path / 'kambot.db'}"
    await migrate_and_seed(url)
    database = Database(url)
    async with database.transaction() as session:
        await apply_rows(
            session,
            [
                AccountRow(0, "Northwind", Tier.STRATEGIC_KEY_ACCOUNT, TEAM, (), (), False),
                AccountRow(0, "Tailspin", Tier.KEY_ACCOUNT, TEAM, (), (), False),
            ],
        )
    yield database
    await database.close()


async def named(session, name: str) -> Account:  # type: ignore[no-untyped-def]
    return await session.scalar(select(Account).where(Account.name == name))


def upns(people: list[Person]) -> list[str]:
    return sorted(p.upn or p.name for p in people)


async def test_default_rules_tell_pricing_to_manager_country_lead_and_finance(db: Database) -> None:
    async with db.transaction() as session:
        northwind = await named(session, "Northwind")
        rules = Rules()
        assert upns(must_inform(rules, northwind, ["decision", "decision.pricing"])) == [
            "cfo-office@contoso.test",
            "kam@contoso.test",
            "lead-de@contoso.test",
        ]
        assert upns(must_inform(rules, northwind, ["contact"])) == ["kam@contoso.test"]


async def test_only_the_ka_manager_decides_pricing_for_a_strategic_account(db: Database) -> None:
    async with db.transaction() as session:
        people = {p.upn: p for p in await session.scalars(select(Person)) if p.upn}
        northwind, tailspin = await named(session, "Northwind"), await named(session, "Tailspin")

        def decision(account: Account, who: str, key: str) -> LogDecision:
            return LogDecision(
                account.id,
                people[who],
                key.ljust(32, "0"),
                "Discount",
                DecisionCategory.PRICING,
                "5 % off",
                "x",
                dt.date.today(),
            )

        by_sales = await log_decision(session, decision(northwind, "field@contoso.test", "a"), Rules())
        by_manager = await log_decision(session, decision(northwind, "kam@contoso.test", "b"), Rules())
        key_account = await log_decision(session, decision(tailspin, "field@contoso.test", "c"), Rules())
        assert (by_sales.needs_confirmation, by_manager.needs_confirmation, key_account.needs_confirmation) == (
            True,
            False,
            False,
        )


async def test_a_rules_file_overrides_tiers_and_accounts(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "tiers:\n"
        "  key_account:\n"
        "    decide:\n"
        '      - {category: pricing, who: ["function:finance"]}\n'
        "accounts:\n"
        "  northwind:\n"
        "    inform:\n"
        "      - {about: contact, inform: [team]}\n"
        '      - {about: decision.service, inform: ["function:nobody has this"]}\n'
    )
    rules = Rules.load(path)
    async with db.transaction() as session:
        northwind, tailspin = await named(session, "Northwind"), await named(session, "Tailspin")
        assert len(must_inform(rules, northwind, ["contact"])) == 4
        assert must_inform(rules, northwind, ["decision.service"]) == [], "no one to inform is not an error"
        assert upns(must_inform(rules, tailspin, ["contact"])) == ["kam@contoso.test"], "other accounts keep defaults"
        assert DecisionCategory.PRICING in rules.for_account(tailspin).decide


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tiers:\n  gold:\n    inform: []\n", "tiers.gold: not a tier"),
        (
            "accounts:\n  x:\n    inform:\n      - {about: lunch, inform: [manager]}\n",
            "accounts.x.inform[0]: about must be",
        ),
        ("accounts:\n  x:\n    inform:\n      - {about: contact, inform: [boss]}\n", "'boss' is not manager"),
        ("accounts:\n  x:\n    decide:\n      - {category: bribery, who: [manager]}\n", "category must be one of"),
        ("- just\n- a list\n", "expected the sections"),
        ("tiers: [unclosed\n", "rules.yaml"),
    ],
)
def test_a_broken_rules_file_says_where_and_why(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(RulesFileError, match=message.replace("[", r"\[").replace("(", r"\(")):
        Rules.load(path)


async def test_the_channel_hears_from_everyone_the_rules_name(sqlite_url: str, connector, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rules = "accounts:\n  Contoso Pharma:\n    inform:\n      - {about: contact, inform: [team]}\n"
    async with bot_with_rules(sqlite_url, connector, tmp_path, rules) as bot:
        form = await form_from_channel(bot, "log contact")
        invoke_card(await bot.send(bot.teams.execute(action_data(form) | GOOD_INPUT)))
        await bot.settle()
        post = [r for r in connector.in_conversation(CONTOSO_CHANNEL) if r.cards][-1].cards[0]
        mentioned = sorted(e["mentioned"]["name"] for e in post["msteams"]["entities"])
        # Alex logged it: the whole team but the author.
        assert mentioned == ["Adele Vance", "Megan Bowen", "Patti Fernandez"]

        form = await form_from_channel(bot, "log decision")
        data = action_data(form) | {
            "title": "Discount",
            "category": "pricing",
            "decision": "5 % off",
            "decided_by": "Alex",
            "effective_on": dt.date.today().isoformat(),
        }
        logged = invoke_card(await bot.send(bot.teams.execute(data)))
        assert "Needs confirmation" in texts_in(logged)
        await bot.settle()
        post = [r for r in connector.in_conversation(CONTOSO_CHANNEL) if r.cards][-1].cards[0]
        assert "Needs confirmation" in texts_in(post) and "<at>Megan Bowen</at>" in texts_in(post)


def inputs_of(card: dict[str, Any]) -> dict[str, Any]:
    return {e["id"]: e.get("value") for e in card["body"] if "id" in e}


def chosen(card: dict[str, Any], input_id: str) -> str:
    """The targets an input of the editor has chosen: its options' values are their places in the card's list."""
    offered = action_data(card)["targets"]
    return ",".join(offered[int(place)] for place in (inputs_of(card)[input_id] or "").split(",") if place)


def place_of(card: dict[str, Any], target: str) -> str:
    return str(action_data(card)["targets"].index(target))


async def test_the_ka_manager_changes_the_rules_in_a_card_and_open_items_keep_their_people(bot: RunningBot) -> None:
    await log_in_channel(bot, "log decision", DECISION)

    await bot.send(bot.teams.message("rules", where=CONTOSO_CHANNEL))
    read_only, _ = last_card(bot.connector, CONTOSO_CHANNEL)
    assert "pricing decisions: KA manager, country lead, finance" in texts_in(read_only)
    assert 'Nobody on the team is "finance"' in texts_in(read_only)
    assert "Only the account's KA manager can change these rules." in texts_in(read_only)
    assert inputs_of(read_only) == {} and not read_only.get("actions")

    await bot.send(bot.teams.message("rules", user="megan", where=CONTOSO_CHANNEL))
    editor, _ = last_card(bot.connector, CONTOSO_CHANNEL)
    fields = inputs_of(editor)
    assert chosen(editor, "inform:decision.pricing") == "manager,function:country lead,function:finance"
    assert chosen(editor, "decide:pricing") == "manager" and fields["remind_after_hours"] == 24
    assert "checks that always run" in texts_in(editor).lower()

    only_manager = {"inform:decision.pricing": place_of(editor, "manager")}
    wanted = {k: ("" if v is None else str(v)) for k, v in fields.items()} | only_manager
    stolen = invoke_message(await bot.send(bot.teams.execute(action_data(editor) | wanted, where=CONTOSO_CHANNEL)))
    assert "opened for someone else" in stolen
    forged = bot.reseal(action_data(editor) | wanted)
    refused = invoke_message(await bot.send(bot.teams.execute(forged, where=CONTOSO_CHANNEL)))
    assert "Only the account's KA managers (and its admins) may do this." in refused
    bad = invoke_card(
        await bot.send(
            bot.teams.execute(
                action_data(editor) | wanted | {"remind_after_hours": "soon"}, user="megan", where=CONTOSO_CHANNEL
            )
        )
    )
    assert "Enter a number of hours from 1 to 1440." in texts_in(bad)
    assert chosen(bad, "inform:decision.pricing") == "manager", "what she chose is kept"
    unoffered = wanted | {"decide:pricing": str(len(action_data(editor)["targets"]))}
    refused_target = invoke_card(
        await bot.send(bot.teams.execute(action_data(editor) | unoffered, user="megan", where=CONTOSO_CHANNEL))
    )
    assert "Choose one of the offered options." in texts_in(refused_target), "only what the card offered is saved"
    async with bot.db.transaction() as session:
        assert (await named(session, "Contoso Pharma")).rules is None, "nothing stored from a refused or bad form"

    saved = invoke_card(
        await bot.send(bot.teams.execute(action_data(editor) | wanted, user="megan", where=CONTOSO_CHANNEL))
    )
    assert "Saved." in texts_in(saved) and "pricing decisions: KA manager\n" in texts_in(saved) + "\n"
    async with bot.db.transaction() as session:
        stored = (await named(session, "Contoso Pharma")).rules
    assert stored == {"inform": [{"about": "decision.pricing", "inform": ["manager"]}], "decide": []}

    # The open decision keeps Megan and Patti; a new one goes to Megan only.
    first = channel_post(bot.connector, CONTOSO_CHANNEL, "New decision")
    view = invoke_card(
        await bot.send(bot.teams.execute(first["refresh"]["action"]["data"], user="patti", where=CONTOSO_CHANNEL))
    )
    assert "Waiting for Megan Bowen, Patti Fernandez" in texts_in(view)
    await log_in_channel(bot, "log decision", DECISION | {"title": "Volume bonus"})
    second = channel_post(bot.connector, CONTOSO_CHANNEL, "Volume bonus")
    assert "Waiting for Megan Bowen" in texts_in(second) and "Patti" not in texts_in(second)
    assert_valid_cards([read_only, editor, bad, refused_target, saved])
