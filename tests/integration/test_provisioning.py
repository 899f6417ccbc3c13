"""Provisioning account channels and tabs through msgraph-sdk, against the Graph fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.admin.provisioning import build_provisioner
from graph.provisioning import Provisioner
from kam.account_list import AccountRow, Member, apply_rows
from kam.channel_names import channel_name, unique_name
from kam.demo import ACCOUNTS, PEOPLE
from kam.models import Account, OutboxMessage, OutboxStatus, Role, Tier
from kam.outbox import OutboxKind
from kam.storage import Database
from tests.support.fakes.graph import FakeGraphCredential, GraphFake
from tests.support.harness import local_settings, migrate_and_seed

APP_ID = "kambot-app-catalog-id"


def row(name: str, manager: str = "megan@contoso.test", confidential: bool = False, *members: str) -> AccountRow:
    team = (Member(manager, Role.MANAGER, None), *(Member(m, Role.MEMBER, None) for m in members))
    return AccountRow(0, name, Tier.KEY_ACCOUNT, team, (), (), confidential)


@pytest.fixture
async def graph() -> AsyncIterator[GraphFake]:
    """A tenant whose KAM team holds everyone on the demo's account teams and three more colleagues."""
    fake = await GraphFake().start()
    fake.add_team("team-a")
    for upn in ("megan@contoso.test", "adele@contoso.test", "alex@contoso.test"):
        fake.add_user(upn)
    for person in PEOPLE:
        fake.add_user(person.upn, person.name, person.aad_object_id, person.teams_user_id)
    on_teams = {name for account in ACCOUNTS for name in account.team}
    fake.add_members("team-a", "megan@contoso.test", "adele@contoso.test", "alex@contoso.test")
    fake.add_members("team-a", *(p.upn for p in PEOPLE if p.name in on_teams))
    yield fake
    await fake.stop()


@pytest.fixture
async def database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'kambot.db'}"
    await migrate_and_seed(url)
    return url


async def import_rows(url: str, rows: list[AccountRow], remove_missing: bool = False) -> None:
    db = Database(url)
    try:
        async with db.transaction() as session:
            await apply_rows(session, rows, remove_missing=remove_missing)
    finally:
        await db.close()


def provisioner(url: str, graph: GraphFake, teams: str = "team-a", **settings: object) -> Provisioner:
    values = {
        "kam_team_ids": teams,
        "teams_app_id": APP_ID,
        "public_base_url": "https://kambot.contoso.test",
        "graph_base_url": f"{graph.url}/v1.0",
        **settings,
    }
    return build_provisioner(local_settings(url, **values), credential=FakeGraphCredential())


async def provision(url: str, graph: GraphFake, **settings: object):  # type: ignore[no-untyped-def]
    runner = provisioner(url, graph, **settings)
    try:
        return await runner.run()
    finally:
        await runner.db.close()


async def accounts(url: str) -> dict[str, Account]:
    db = Database(url)
    try:
        async with db.transaction() as session:
            return {a.name: a for a in await session.scalars(select(Account))}
    finally:
        await db.close()


def channel_names(graph: GraphFake, team: str = "team-a") -> list[str]:
    return sorted(c.name for c in graph.teams[team].channels.values())


async def test_a_fresh_tenant_gets_a_channel_with_tabs_per_account_and_a_second_run_writes_nothing(
    database: str, graph: GraphFake
) -> None:
    summary = await provision(database, graph)
    assert summary.failed == []
    assert summary.channels_created == 2 and summary.apps_installed == 1 and summary.tabs_added == 8
    assert channel_names(graph) == ["Contoso Pharma", "Fabrikam Logistics", "General"]
    assert graph.teams["team-a"].installed_apps == [APP_ID]

    stored = await accounts(database)
    for account in stored.values():
        channel = graph.teams["team-a"].channels[account.channel_id]
        assert channel.name == account.name and account.tabs_ready
        assert [t["displayName"] for t in channel.tabs] == ["Plan", "Log", "Stakeholders", "Insights"]
        plan = channel.tabs[0]["configuration"]
        assert plan["entityId"] == f"kambot-plan-{account.id}"
        assert plan["contentUrl"] == f"https://kambot.contoso.test/tabs/plan?account={account.id}"
        assert plan["websiteUrl"] == plan["contentUrl"]
    db = Database(database)
    async with db.transaction() as session:
        welcomes = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.CHANNEL_WELCOME))
        )
    await db.close()
    assert len(welcomes) == 2

    writes = len(graph.writes())
    again = await provision(database, graph)
    assert len(graph.writes()) == writes, "the second run writes nothing"
    assert again.unchanged == 2 and again.channels_created == 0


async def test_names_follow_teams_rules_and_collisions_are_resolved_predictably(
    database: str, graph: GraphFake
) -> None:
    graph.teams["team-a"].channels["x"] = graph.teams["team-a"].channels.pop("general")
    graph.add_team("team-b")
    graph.teams["team-b"].channels["existing"] = type(graph.teams["team-b"].channels["general"])("19:x", "ACME: Europe")
    names = ["ACME: Europe", "ACME/Europe", "_.Weird * <Name> + 'quotes' \"x\"?.", "A" * 80, "General"]
    await import_rows(database, [row(n) for n in names])
    await provision(database, graph, kam_team_ids="team-b")
    assert sorted(c.name for c in graph.teams["team-b"].channels.values() if c.id != "19:x") == sorted(
        [
            "ACME- Europe",
            "ACME-Europe",
            "Weird - -Name- - -quotes- -x",
            "A" * 50,
            "Account General",
            "Contoso Pharma",
            "Fabrikam Logistics",
            "General",
        ]
    )
    assert channel_name("ACME: Europe") == "ACME- Europe"
    assert unique_name("ACME- Europe", ["acme- europe", "ACME- Europe (2)"]) == "ACME- Europe (3)"
    assert unique_name("B" * 50, ["b" * 50]) == "B" * 46 + " (2)"


async def test_when_a_team_nears_its_channel_limit_further_accounts_go_to_the_next_team(
    database: str, graph: GraphFake
) -> None:
    graph.add_team("team-b")
    await import_rows(database, [row(f"Account {i:02}") for i in range(5)])
    summary = await provision(database, graph, kam_team_ids="team-a,team-b", channels_per_team=5)
    assert summary.failed == []
    assert len(graph.teams["team-a"].channels) == 5
    assert len(graph.teams["team-b"].channels) == 1 + 3
    assert APP_ID in graph.teams["team-b"].installed_apps
    placed = {a.name: a.team_id for a in (await accounts(database)).values()}
    assert placed["Contoso Pharma"] == "team-a" and placed["Account 04"] == "team-b"

    await import_rows(database, [row("One More"), row("One Too Many")])
    full = await provision(database, graph, kam_team_ids="team-a,team-b", channels_per_team=5)
    assert full.channels_created == 1 and len(full.failed) == 1
    assert full.failed[0][0] == "One Too Many" and "add a team" in full.failed[0][1]
    assert full.unchanged == 7


async def test_an_account_that_left_the_list_has_its_channel_archived_and_keeps_its_data(
    database: str, graph: GraphFake
) -> None:
    await provision(database, graph)
    await import_rows(database, [row("Contoso Pharma")], remove_missing=True)
    summary = await provision(database, graph)
    assert summary.archived == 1
    fabrikam = (await accounts(database))["Fabrikam Logistics"]
    assert graph.teams["team-a"].channels[fabrikam.channel_id].archived
    assert fabrikam.archived_at is not None and fabrikam.channel_id is not None
    assert len(graph.teams["team-a"].channels) == 3, "nothing deleted"
    writes = len(graph.writes())
    await provision(database, graph)
    assert len(graph.writes()) == writes


@pytest.mark.parametrize("stop_after_writes", [1, 2, 5, 9, 14])
async def test_killed_at_any_moment_a_rerun_finishes_without_duplicates(
    database: str, graph: GraphFake, stop_after_writes: int
) -> None:
    await import_rows(database, [row(f"Account {i}") for i in range(4)])
    runner = provisioner(database, graph, provision_concurrency=3)
    task = asyncio.create_task(runner.run())
    while len(graph.writes()) < stop_after_writes and not task.done():
        await asyncio.sleep(0.001)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await runner.db.close()

    summary = await provision(database, graph)
    assert summary.failed == []
    names = channel_names(graph)
    assert len(names) == len(set(n.lower() for n in names)) == 7
    for account in (await accounts(database)).values():
        tabs = graph.teams["team-a"].channels[account.channel_id].tabs
        assert sorted(t["configuration"]["entityId"] for t in tabs) == sorted(
            f"kambot-{k}-{account.id}" for k in ("plan", "log", "stakeholders", "insights")
        )
    db = Database(database)
    async with db.transaction() as session:
        welcomes = list(
            await session.scalars(
                select(OutboxMessage.subject_id).where(OutboxMessage.kind == OutboxKind.CHANNEL_WELCOME)
            )
        )
    await db.close()
    assert sorted(welcomes) == sorted(set(welcomes)) and len(welcomes) == 6


async def test_throttling_outages_timeouts_and_lost_answers_end_in_exactly_one_channel_each(
    database: str, graph: GraphFake
) -> None:
    await import_rows(database, [row(f"Account {i}") for i in range(6)])
    graph.fail(503, times=2, method="POST", path_contains="/channels")
    graph.fail(504, method="POST", path_contains="/tabs")
    graph.fail("timeout", method="POST", path_contains="/channels")
    graph.timeout_seconds = 1.5
    summary = await provision(database, graph, provision_concurrency=8, graph_timeout_seconds=0.5)
    assert summary.failed == []
    names = channel_names(graph)
    assert len(names) == 9 and len(set(names)) == 9
    assert graph.throttled() == 0, "the pacing keeps kambot under Graph's limits"


async def test_a_dry_run_shows_the_plan_and_writes_nothing(database: str, graph: GraphFake) -> None:
    await provision(database, graph)
    await import_rows(database, [row("Contoso Pharma"), row("Tailspin Toys")], remove_missing=True)
    runner = provisioner(database, graph)
    steps = await runner.plan()
    await runner.db.close()
    writes = len(graph.writes())
    described = [(s.account, s.action) for s in steps]
    assert ("Tailspin Toys", "create channel") in described
    assert ("Tailspin Toys", "add tabs") in described and ("Tailspin Toys", "post welcome card") in described
    assert ("Fabrikam Logistics", "archive channel") in described
    assert not any(s.account == "Contoso Pharma" for s in steps)
    assert len(graph.writes()) == writes


async def test_the_bot_greets_a_new_channel_and_remembers_how_to_reach_it(database: str, connector) -> None:  # type: ignore[no-untyped-def]
    from kam.models import ConversationRef
    from tests.support.harness import RunningBot
    from tests.support.teams import FABRIKAM_CHANNEL

    db = Database(database)
    async with db.transaction() as session:
        contoso = await session.scalar(select(Account).where(Account.name == "Contoso Pharma"))
        assert contoso is not None
        contoso.channel_id = "19:new-contoso@thread.tacv2"
        session.add(OutboxMessage(kind=OutboxKind.CHANNEL_WELCOME, subject_id=contoso.id, account_id=contoso.id))
    await db.close()

    bot = await RunningBot(local_settings(database), connector).start()
    try:
        for _ in range(100):  # the sender's first try, however busy the machine
            await asyncio.sleep(0.1)
            async with bot.db.transaction() as session:
                waiting = await session.scalar(select(OutboxMessage))
            if waiting is not None and waiting.last_error:
                break
        assert waiting is not None and waiting.status == OutboxStatus.PENDING
        assert "not been installed" in (waiting.last_error or ""), "kept until the bot is in the team"
        await bot.send(bot.teams.bot_added(where=FABRIKAM_CHANNEL))
        # The post waits with growing pauses (it could not be delivered before): allow a few of them.
        await connector.wait_for(
            lambda c: any(r.cards for r in c.in_conversation("19:new-contoso@thread.tacv2")), timeout=20
        )
        card = connector.in_conversation("19:new-contoso@thread.tacv2")[0].cards[0]
        text = str(card)
        assert "The channel of key account Contoso Pharma" in text and "KA manager: Megan Bowen" in text
        for _ in range(50):
            async with bot.db.transaction() as session:
                ref = await session.get(ConversationRef, "19:new-contoso@thread.tacv2")
            if ref is not None:
                break
            await asyncio.sleep(0.1)
        assert ref is not None and ref.service_url == connector.url and ref.team_id == "team-id"
        from tests.support.cards_judge import assert_valid_cards

        assert_valid_cards([card])
    finally:
        await bot.stop()


async def test_an_admin_provisions_from_the_chat_and_is_told_the_outcome(
    database: str,
    graph: GraphFake,
    connector,  # type: ignore[no-untyped-def]
) -> None:
    from tests.support.harness import RunningBot
    from tests.support.teams import FABRIKAM_CHANNEL, USERS

    settings = local_settings(
        database,
        admin_aad_ids=USERS["alex"].aad_object_id,
        graph_tenant_id="00000000-0000-0000-0000-0000000000001",
        kam_team_ids="team-a",
        teams_app_id=APP_ID,
        public_base_url="https://kambot.contoso.test",
        graph_base_url=f"{graph.url}/v1.0",
    )
    bot = await RunningBot(settings, connector, graph_credential=FakeGraphCredential()).start()
    try:
        await bot.send(bot.teams.bot_added(where=FABRIKAM_CHANNEL))
        await bot.send(bot.teams.message("provision", user="isaiah"))
        assert "Only kambot admins may provision" in connector.in_conversation("a:personal-isaiah")[-1].activity["text"]

        await bot.send(bot.teams.message("provision"))
        chat = "a:personal-alex"
        assert "Provisioning started" in connector.in_conversation(chat)[-1].activity["text"]
        await connector.wait_for(
            lambda c: "Provisioning finished" in (c.in_conversation(chat)[-1].activity.get("text") or ""), 30
        )
        assert "2 channel(s) created" in connector.in_conversation(chat)[-1].activity["text"]
        for account in (await accounts(database)).values():
            await connector.wait_for(lambda c, a=account: any(r.cards for r in c.in_conversation(a.channel_id)), 10)
    finally:
        await bot.stop()
