"""Confidential accounts in Teams: a shared channel of the account team only, with kambot in it.

The Graph fake is the tenant (teams, members, channels and who may post where) and the Bot
Connector fake asks it: a post in a private channel is refused as Teams refuses it, so the
old design (a private channel) fails here, and the shared channel kambot now makes works.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.admin.provisioning import build_provisioner
from bot.app import SERVICES
from graph.provisioning import Summary
from kam.account_list import AccountRow, Member, apply_rows
from kam.models import Account, OutboxMessage, OutboxStatus, Person, Role, Tier
from kam.outbox import OutboxKind, retry_failed
from kam.storage import Database
from tests.support.fakes.connector import ConnectorFake
from tests.support.fakes.graph import Channel, FakeGraphCredential, GraphFake, served_demo_tenant
from tests.support.harness import RunningBot, local_settings
from tests.support.teams import ADMIN, CONTOSO_CHANNEL, TEAM_ID, USERS

BASE = "https://kambot.contoso.test"


def row(name: str, managers: tuple[str, ...], members: tuple[str, ...] = (), confidential: bool = True) -> AccountRow:
    team = (
        *(Member(USERS[m].upn, Role.MANAGER, None) for m in managers),
        *(Member(USERS[m].upn, Role.MEMBER, None) for m in members),
    )
    return AccountRow(0, name, Tier.STRATEGIC_KEY_ACCOUNT, team, (), (), confidential)


@dataclass
class Tenant:
    url: str
    graph: GraphFake
    connector: ConnectorFake

    def settings(self, **overrides: object):  # type: ignore[no-untyped-def]
        return local_settings(
            self.url,
            kam_team_ids=TEAM_ID,
            teams_app_id=self.graph.bot_app_id,
            public_base_url=BASE,
            graph_base_url=f"{self.graph.url}/v1.0",
            admin_aad_ids=ADMIN.aad_object_id,
            **overrides,
        )

    async def accounts(self, rows: list[AccountRow]) -> None:
        db = Database(self.url)
        try:
            async with db.transaction() as session:
                await apply_rows(session, rows)
        finally:
            await db.close()

    async def provision(self) -> Summary:
        runner = build_provisioner(self.settings(), credential=FakeGraphCredential())
        try:
            return await runner.run()
        finally:
            await runner.db.close()

    async def account(self, name: str) -> Account:
        db = Database(self.url)
        try:
            async with db.transaction() as session:
                found = await session.scalar(select(Account).where(Account.name == name))
                assert found is not None
                return found
        finally:
            await db.close()

    def channel(self, account: Account) -> Channel:
        return next(c for c in self.graph.teams[TEAM_ID].channels.values() if c.id == account.channel_id)

    def members(self, account: Account) -> dict[str, list[str]]:
        """The channel's members by name, with their roles."""
        by_id = {u["id"]: u["displayName"] for u in self.graph.users.values()}
        return {by_id[user_id]: roles for user_id, roles in self.channel(account).members.items()}


@pytest.fixture
async def tenant(tmp_path: Path) -> AsyncIterator[Tenant]:
    async with served_demo_tenant(tmp_path) as (url, graph, connector):
        yield Tenant(url, graph, connector)


async def test_a_confidential_account_gets_a_shared_channel_of_its_team_with_kambot_and_the_tabs_in_it(
    tenant: Tenant,
) -> None:
    await tenant.accounts([row("Northwind Secret", ("megan",), ("adele",))])
    tenant.graph.shared_channel_seconds = 1.2  # Graph answers 202 and makes it in the background
    summary = await tenant.provision()
    assert summary.failed == [] and summary.missing == [] and summary.channels_created == 1
    secret = await tenant.account("Northwind Secret")
    channel = tenant.channel(secret)
    assert channel.membership == "shared" and channel.name == "Northwind Secret"
    assert tenant.members(secret) == {"Megan Bowen": ["owner"], "Adele Vance": []}, "the account team, no one else"
    assert tenant.graph.bot_app_id in channel.enabled_apps, "kambot is added to the channel, not only to the team"
    assert [t["displayName"] for t in channel.tabs] == ["Plan", "Log", "Stakeholders", "Insights"]

    writes = len(tenant.graph.writes())
    again = await tenant.provision()
    assert len(tenant.graph.writes()) == writes and again.channel_members_changed == 0, "in order: nothing written"

    bot = await RunningBot(tenant.settings(), tenant.connector).start()
    try:
        await bot.send(bot.teams.bot_added(where=CONTOSO_CHANNEL))  # kambot is in the team: its reference is known
        await tenant.connector.wait_for(lambda c: any(r.cards for r in c.in_conversation(channel.id)), timeout=15)
    finally:
        await bot.stop()
    welcome = json.dumps(tenant.connector.in_conversation(channel.id)[0].cards[0])
    assert "Northwind Secret" in welcome


async def test_the_channels_members_follow_the_account_list_and_its_owners_its_ka_managers(tenant: Tenant) -> None:
    await tenant.accounts([row("Northwind Secret", ("megan",), ("adele", "patti"))])
    await tenant.provision()
    secret = await tenant.account("Northwind Secret")
    assert tenant.members(secret) == {"Megan Bowen": ["owner"], "Adele Vance": [], "Patti Fernandez": []}

    # Megan hands the account to Alex, Patti leaves the account team, Isaiah joins it.
    await tenant.accounts([row("Northwind Secret", ("alex",), ("adele", "isaiah", "megan"))])
    summary = await tenant.provision()
    assert summary.failed == [] and summary.channel_members_changed == 4
    assert tenant.members(secret) == {
        "Alex Wilber": ["owner"],
        "Adele Vance": [],
        "Isaiah Langer": [],
        "Megan Bowen": [],
    }
    again = await tenant.provision()
    assert again.channel_members_changed == 0


async def test_a_private_channel_of_the_old_design_refuses_the_bot_and_is_replaced_by_a_shared_one(
    tenant: Tenant,
) -> None:
    """Teams answers a bot's post in a private channel 403 BotNotInConversationRoster: the item is kept, the
    KA managers and the admin are told once, and provisioning gives the account a shared channel."""
    await tenant.accounts([row("Old Secret", ("megan",), ("adele",))])
    private = Channel("19:old-secret@thread.tacv2", "Old Secret", "private")
    private.members = {USERS["megan"].aad_object_id: ["owner"], USERS["adele"].aad_object_id: []}
    tenant.graph.teams[TEAM_ID].channels[private.id] = private
    db = Database(tenant.url)
    async with db.transaction() as session:
        old = await session.scalar(select(Account).where(Account.name == "Old Secret"))
        assert old is not None
        old.team_id, old.channel_id, old.channel_name, old.tabs_ready = TEAM_ID, private.id, "Old Secret", True
        session.add(Person(aad_object_id=ADMIN.aad_object_id, teams_user_id=ADMIN.teams_user_id, name=ADMIN.name))
        for _ in range(2):  # two posts for the channel: both refused, one report
            session.add(OutboxMessage(kind=OutboxKind.CHANNEL_WELCOME, subject_id=old.id, account_id=old.id))
    await db.close()
    tenant.graph.add_members(TEAM_ID, ADMIN.upn)  # the admin is in the KAM team: kambot can write to him

    bot = await RunningBot(tenant.settings(), tenant.connector).start()
    try:
        await bot.send(bot.teams.bot_added(where=CONTOSO_CHANNEL))

        def told(c: ConnectorFake) -> list[str]:
            cards = [json.dumps(r.cards) for r in c.recorded if r.cards]
            return [card for card in cards if "Not delivered: Old Secret" in card]

        await tenant.connector.wait_for(lambda c: len(told(c)) >= 2, timeout=20)
        await bot.settle()
        reports = told(tenant.connector)
        assert len(reports) == 2, "the KA manager and the admin, once each"
        assert all("BotNotInConversationRoster" in r and "shared channel" in r for r in reports)
        assert not tenant.connector.in_conversation(private.id), "nothing reached the private channel"
        async with bot.db.transaction() as session:
            welcomes = list(
                await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.CHANNEL_WELCOME))
            )
        assert [w.status for w in welcomes if w.account_id == old.id] == [OutboxStatus.FAILED] * 2, "kept, not lost"

        summary = await tenant.provision()
        assert summary.channels_replaced == 1 and summary.failed == []
        assert private.archived and private.name == "Archived - Old Secret"
        replaced = await tenant.account("Old Secret")
        assert tenant.channel(replaced).membership == "shared" and tenant.channel(replaced).name == "Old Secret"
        assert tenant.members(replaced) == {"Megan Bowen": ["owner"], "Adele Vance": []}

        async with bot.db.transaction() as session:
            await retry_failed(session, [w.id for w in welcomes if w.account_id == old.id])
        assert bot.app is not None
        bot.app[SERVICES].sender.kick()
        new_channel = replaced.channel_id or ""
        await tenant.connector.wait_for(lambda c: len(c.in_conversation(new_channel)) >= 1, timeout=20)
    finally:
        await bot.stop()


async def test_an_account_that_becomes_confidential_leaves_its_standard_channel_for_a_shared_one(
    tenant: Tenant,
) -> None:
    """Everyone in the team reads a standard channel: a confidential account must not stay in one."""
    await tenant.accounts([row("Northwind", ("megan",), ("adele",), confidential=False)])
    await tenant.provision()
    before = await tenant.account("Northwind")
    standard = tenant.channel(before)
    assert standard.membership == "standard"

    await tenant.accounts([row("Northwind", ("megan",), ("adele",))])  # the same account, now confidential
    summary = await tenant.provision()
    assert summary.channels_replaced == 1 and summary.failed == []
    assert standard.archived and standard.name == "Archived - Northwind"
    after = await tenant.account("Northwind")
    assert after.channel_id != before.channel_id
    assert tenant.channel(after).membership == "shared" and tenant.members(after) == {
        "Megan Bowen": ["owner"],
        "Adele Vance": [],
    }


async def test_a_confidential_account_whose_ka_manager_is_not_in_the_directory_keeps_its_channel(
    tenant: Tenant,
) -> None:
    await tenant.accounts([row("Southwind", ("megan",), confidential=False)])
    await tenant.provision()
    before = await tenant.account("Southwind")
    del tenant.graph.users[USERS["megan"].upn.lower()]
    db = Database(tenant.url)
    async with db.transaction() as session:
        megan = await session.scalar(select(Person).where(Person.name == "Megan Bowen"))
        assert megan is not None
        megan.aad_object_id = None  # known only by UPN, which the directory no longer has
    await db.close()
    await tenant.accounts([row("Southwind", ("megan",))])
    summary = await tenant.provision()
    assert [name for name, _ in summary.failed] == ["Southwind"] and "KA manager" in summary.failed[0][1]
    assert summary.channels_replaced == 0
    kept = await tenant.account("Southwind")
    assert kept.channel_id == before.channel_id and not tenant.channel(kept).archived, "nothing half done"


async def test_when_the_shared_channel_cannot_be_made_the_old_channel_stays_the_accounts(tenant: Tenant) -> None:
    """Nothing half done: the old channel is retired only once its successor exists."""
    await tenant.accounts([row("Eastwind", ("megan",), ("adele",), confidential=False)])
    await tenant.provision()
    before = await tenant.account("Eastwind")
    await tenant.accounts([row("Eastwind", ("megan",), ("adele",))])
    tenant.graph.fail(403, method="POST", path_contains="/channels")  # say a tenant policy forbids shared channels
    summary = await tenant.provision()
    assert [name for name, _ in summary.failed] == ["Eastwind"] and summary.channels_replaced == 0
    kept = await tenant.account("Eastwind")
    assert kept.channel_id == before.channel_id and kept.channel_name == "Eastwind" and kept.replaced_channel_id is None
    old = tenant.channel(kept)
    assert old.name == "Eastwind" and not old.archived

    again = await tenant.provision()  # the policy is gone: replaced now
    assert again.channels_replaced == 1 and again.failed == []
    after = await tenant.account("Eastwind")
    assert tenant.channel(after).membership == "shared" and tenant.channel(after).name == "Eastwind"
    assert old.archived and old.name == "Archived - Eastwind"
