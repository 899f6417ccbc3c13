"""Who kambot can reach: Teams opens a bot's 1:1 chat only with people in a team where it is installed
(or who added it themselves), and a standard channel shows only to the team's members.

Everyone on an account team is kept in the team of the account's channel (added where the admin
granted it, else reported), and someone Teams still refuses is shown as "not reachable", never
silently skipped.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.admin.provisioning import build_provisioner
from graph.provisioning import Summary
from kam.account_list import AccountRow, Member, apply_rows
from kam.models import Account, AccountMember, OutboxMessage, Person, Role, Tier
from kam.outbox import OutboxKind
from kam.storage import Database
from tests.support.cards_judge import assert_valid_cards
from tests.support.fakes.connector import ConnectorFake
from tests.support.fakes.graph import FakeGraphCredential, GraphFake, demo_tenant
from tests.support.flows import (
    DECISION,
    channel_post,
    chat_cards,
    eventually,
    invoke_card,
    log_in_channel,
    texts_in,
)
from tests.support.harness import RunningBot, local_settings, migrate_and_seed
from tests.support.teams import CONTOSO_CHANNEL, TEAM_ID, USERS

# Without TeamMember.ReadWriteNonOwnerRole.All: what an admin who chose not to grant it leaves kambot.
WITHOUT_ADDING = {"User.ReadBasic.All"}


async def put_lynne_on_contoso(url: str) -> None:
    """Lynne (in the tenant, not in the KAM team) becomes Contoso's country lead."""
    db = Database(url)
    try:
        async with db.transaction() as session:
            contoso = await session.scalar(select(Account).where(Account.name == "Contoso Pharma"))
            lynne = await session.scalar(select(Person).where(Person.name == "Lynne Robbins"))
            assert contoso is not None and lynne is not None
            lead = AccountMember(account_id=contoso.id, person_id=lynne.id, role=Role.MEMBER, function="country lead")
            session.add(lead)
    finally:
        await db.close()


@pytest.fixture
async def tenant(sqlite_url: str) -> AsyncIterator[GraphFake]:
    await migrate_and_seed(sqlite_url)
    await put_lynne_on_contoso(sqlite_url)
    graph = await demo_tenant().start()
    yield graph
    await graph.stop()


async def provision(url: str, graph: GraphFake, roles: set[str] | None = None) -> Summary:
    settings = local_settings(
        url,
        kam_team_ids=TEAM_ID,
        teams_app_id=graph.bot_app_id,
        public_base_url="https://kambot.contoso.test",
        graph_base_url=f"{graph.url}/v1.0",
    )
    runner = build_provisioner(settings, credential=FakeGraphCredential(roles))
    try:
        return await runner.run()
    finally:
        await runner.db.close()


async def told_about_missing(url: str) -> list[OutboxMessage]:
    db = Database(url)
    try:
        async with db.transaction() as session:
            query = select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.MEMBERS_MISSING)
            return list(await session.scalars(query))
    finally:
        await db.close()


async def test_provisioning_adds_an_account_team_member_missing_from_the_team(
    sqlite_url: str, tenant: GraphFake
) -> None:
    lynne = USERS["lynne"].aad_object_id
    assert lynne not in tenant.teams[TEAM_ID].members
    summary = await provision(sqlite_url, tenant)
    assert summary.team_members_added == 1 and summary.missing == [] and summary.failed == []
    assert tenant.teams[TEAM_ID].members[lynne] == [], "a member, not an owner"
    assert await told_about_missing(sqlite_url) == []
    again = await provision(sqlite_url, tenant)
    assert again.team_members_added == 0


async def test_without_the_permission_the_missing_are_reported_every_run_and_to_the_ka_manager_once(
    sqlite_url: str, tenant: GraphFake
) -> None:
    summary = await provision(sqlite_url, tenant, WITHOUT_ADDING)
    assert summary.team_members_added == 0 and summary.failed == []
    assert [(m.account, m.person) for m in summary.missing] == [("Contoso Pharma", "Lynne Robbins")]
    assert USERS["lynne"].aad_object_id not in tenant.teams[TEAM_ID].members
    told = await told_about_missing(sqlite_url)
    assert len(told) == 1, "one card, to Contoso's KA manager"

    again = await provision(sqlite_url, tenant, WITHOUT_ADDING)
    assert [(m.account, m.person) for m in again.missing] == [("Contoso Pharma", "Lynne Robbins")], "every run"
    assert len(await told_about_missing(sqlite_url)) == 1, "the KA manager is told once"

    # A new account list (Isaiah joins Contoso's team): the team is rebuilt, and still nobody is told twice.
    team = [("megan", Role.MANAGER, None), ("alex", Role.MEMBER, "sales"), ("adele", Role.MEMBER, "service")]
    team += [("patti", Role.MEMBER, "country lead"), ("lynne", Role.MEMBER, "country lead")]
    team += [("isaiah", Role.MEMBER, "service")]
    db = Database(sqlite_url)
    async with db.transaction() as session:
        members = tuple(Member(USERS[name].upn, role, function) for name, role, function in team)
        domains, countries = ("contoso-pharma.example",), ("DE", "AT", "CH")
        contoso = AccountRow(0, "Contoso Pharma", Tier.STRATEGIC_KEY_ACCOUNT, members, domains, countries, False)
        assert (await apply_rows(session, [contoso])).updated == ["Contoso Pharma"]
    await db.close()
    await provision(sqlite_url, tenant, WITHOUT_ADDING)
    assert len(await told_about_missing(sqlite_url)) == 1, "told once, also after the account list changed"

    connector = await ConnectorFake(directory=tenant).start()
    bot = await RunningBot(local_settings(sqlite_url), connector).start()
    try:
        await bot.send(bot.teams.bot_added(where=CONTOSO_CHANNEL))
        await connector.wait_for(
            lambda c: any("Not in the team: Contoso Pharma" in json.dumps(r.cards) for r in c.recorded if r.cards), 15
        )
        card = next(r for r in connector.recorded if r.cards and "Not in the team" in json.dumps(r.cards))
        assert card.conversation_id.startswith("a:chat-user-id-1"), "to Megan, Contoso's KA manager"
        assert "Lynne Robbins" in texts_in(card.cards[0])
        assert_valid_cards(card.cards)
    finally:
        await bot.stop()
        await connector.stop()


async def test_someone_teams_will_not_open_a_chat_with_shows_as_not_reachable_until_they_talk_to_kambot(
    bot: RunningBot,
) -> None:
    """The connector fake's tenant is the demo's: Lynne is not in its team and never added kambot."""
    await put_lynne_on_contoso(bot.settings.database_url)
    await log_in_channel(bot, "log decision", DECISION)

    async def lynne_unreachable() -> bool:
        async with bot.db.transaction() as session:
            lynne = await session.scalar(select(Person).where(Person.name == "Lynne Robbins"))
            return lynne is not None and lynne.unreachable_since is not None

    await eventually(lynne_unreachable, timeout=15)
    async with bot.db.transaction() as session:
        lynne = await session.scalar(select(Person).where(Person.name == "Lynne Robbins"))
        assert lynne is not None and "ForbiddenOperationException" in (lynne.unreachable_reason or ""), "Teams' reason"

    post = channel_post(bot.connector, CONTOSO_CHANNEL, "New decision")
    refresh = post["refresh"]["action"]["data"]
    refreshed = invoke_card(await bot.send(bot.teams.execute(refresh, user="patti", where=CONTOSO_CHANNEL)))
    assert "Not reachable by kambot: Lynne Robbins" in texts_in(refreshed)
    assert "Waiting for Megan Bowen, Patti Fernandez" in texts_in(refreshed), "the others are waited for as before"
    assert_valid_cards([refreshed])

    await bot.connector.wait_for(
        lambda c: any("Teams does not let kambot write to this person" in json.dumps(r.cards) for r in c.recorded), 15
    )
    async with bot.db.transaction() as session:
        reports = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == OutboxKind.DELIVERY_FAILED)
        )
    assert reports == 1, "Megan, Contoso's KA manager, is told once"

    await bot.send(bot.teams.message("help", user="lynne"))
    assert not await lynne_unreachable(), "she talks to kambot in her own chat: it can write to her there"
    refreshed = invoke_card(await bot.send(bot.teams.execute(refresh, user="patti", where=CONTOSO_CHANNEL)))
    assert "Not reachable" not in texts_in(refreshed) and "Lynne Robbins" in texts_in(refreshed)
    # What could not reach her goes now, to the chat she opened: asked, at last.
    await bot.connector.wait_for(
        lambda c: any("Second service visit is paid" in texts_in(card) for card in chat_cards(c, "lynne")), 15
    )
    await bot.settle()
    assert len(chat_cards(bot.connector, "lynne")) == 2, "the help she asked for, and the one request: no more"

