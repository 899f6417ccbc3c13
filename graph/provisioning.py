"""Bringing the tenant in line with the key account list: a channel per account, with tabs.

Resumable by construction: every account's progress is stored as it happens
(team and channel name reserved before the channel is created, channel id,
tabs done, welcome queued), and existing channels and tabs are looked up before
anything is created. Killing a run at any moment and running again finishes
the job without duplicates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import select

from graph.gateway import ChannelInfo, GraphFailure, NameTaken, TabSpec, TeamsGateway
from kam.channel_names import archived_name, channel_name, unique_name
from kam.models import Account, OutboxMessage, Person, Role, utcnow
from kam.outbox import OutboxKind
from kam.storage import Database

TABS = (("plan", "Plan"), ("log", "Log"), ("stakeholders", "Stakeholders"))
FULL = "every team in KAMBOT_KAM_TEAM_IDS is at its channel limit (KAMBOT_CHANNELS_PER_TEAM): add a team"


@dataclass(frozen=True)
class ProvisioningConfig:
    team_ids: Sequence[str]
    app_id: str
    tab_base_url: str
    channels_per_team: int = 900
    concurrency: int = 16


@dataclass(frozen=True)
class Step:
    account: str
    action: str
    detail: str = ""


@dataclass
class Summary:
    channels_created: int = 0
    channels_adopted: int = 0
    tabs_added: int = 0
    apps_installed: int = 0
    welcomes_queued: int = 0
    archived: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class TeamState:
    id: str
    channels: dict[str, ChannelInfo]  # by lower-case name

    def by_id(self, channel_id: str) -> ChannelInfo | None:
        return next((c for c in self.channels.values() if c.id == channel_id), None)


def tab_specs(account: Account, base_url: str) -> list[TabSpec]:
    base = base_url.rstrip("/")
    return [
        TabSpec(
            title,
            f"kambot-{kind}-{account.id}",
            f"{base}/tabs/{kind}?account={account.id}",
            f"{base}/tabs/{kind}?account={account.id}",
        )
        for kind, title in TABS
    ]


class Provisioner:
    def __init__(self, gateway: TeamsGateway, db: Database, config: ProvisioningConfig) -> None:
        if not config.team_ids:
            raise ValueError("no KAM team configured (KAMBOT_KAM_TEAM_IDS)")
        self.gateway = gateway
        self.db = db
        self.config = config
        self.summary = Summary()
        self.on_progress: Callable[[int, int], None] = lambda _done, _total: None

    async def _survey(self) -> dict[str, TeamState]:
        teams = {}
        for team_id in self.config.team_ids:
            channels = await self.gateway.channels(team_id)
            teams[team_id] = TeamState(team_id, {c.name.lower(): c for c in channels})
        return teams

    async def _accounts(self) -> tuple[list[Account], set[int]]:
        async with self.db.transaction() as session:
            accounts = list(await session.scalars(select(Account).order_by(Account.id)))
            welcomed = set(
                await session.scalars(
                    select(OutboxMessage.subject_id).where(OutboxMessage.kind == OutboxKind.CHANNEL_WELCOME)
                )
            )
        return accounts, welcomed

    @staticmethod
    def _present(account: Account, teams: dict[str, TeamState]) -> ChannelInfo | None:
        team = teams.get(account.team_id or "")
        return team.by_id(account.channel_id) if team and account.channel_id else None

    def _assign(self, accounts: list[Account], teams: dict[str, TeamState]) -> dict[int, tuple[str, str]]:
        """Team and channel name for every account without a channel, in account order (predictable)."""
        load = {team_id: len(team.channels) for team_id, team in teams.items()}
        taken = {team_id: set(team.channels) for team_id, team in teams.items()}
        for account in accounts:
            if account.team_id in taken and account.channel_name:
                taken[account.team_id].add(account.channel_name.lower())
        assigned: dict[int, tuple[str, str]] = {}
        for account in accounts:
            if not account.active or self._present(account, teams) is not None:
                continue
            if account.team_id in teams and account.channel_name:
                assigned[account.id] = (account.team_id, account.channel_name)
                continue
            team_id = next((t for t in self.config.team_ids if load[t] < self.config.channels_per_team), None)
            if team_id is None:
                continue
            name = unique_name(channel_name(account.name), taken[team_id])
            taken[team_id].add(name.lower())
            load[team_id] += 1
            assigned[account.id] = (team_id, name)
        return assigned

    async def plan(self) -> list[Step]:
        """What a run would do, found with read requests only."""
        teams = await self._survey()
        accounts, welcomed = await self._accounts()
        assigned = self._assign(accounts, teams)
        steps: list[Step] = []
        needs_app = set()
        for account in accounts:
            if not account.active:
                if account.channel_id and account.archived_at is None:
                    steps.append(Step(account.name, "archive channel", account.channel_name or account.channel_id))
                continue
            if account.id not in assigned and self._present(account, teams) is None:
                steps.append(Step(account.name, "cannot place", FULL))
                continue
            if account.id in assigned:
                team_id, name = assigned[account.id]
                existing = teams[team_id].channels.get(name.lower())
                kind = "private " if account.confidential else ""
                action = "adopt existing channel" if existing else f"create {kind}channel"
                steps.append(Step(account.name, action, f"{name!r} in team {team_id}"))
                needs_app.add(team_id)
            if not account.tabs_ready:
                steps.append(Step(account.name, "add tabs", ", ".join(title for _, title in TABS)))
                tab_team = assigned[account.id][0] if account.id in assigned else account.team_id
                if tab_team:
                    needs_app.add(tab_team)
            if account.id not in welcomed:
                steps.append(Step(account.name, "post welcome card"))
        for team_id in sorted(needs_app):
            if self.config.app_id not in await self.gateway.installed_app_ids(team_id):
                steps.insert(0, Step("", "install app", f"in team {team_id}"))
        return steps

    async def run(self) -> Summary:
        teams = await self._survey()
        accounts, welcomed = await self._accounts()
        assigned = self._assign(accounts, teams)
        async with self.db.transaction() as session:
            for account_id, (team_id, name) in assigned.items():
                stored = await session.get(Account, account_id)
                assert stored is not None
                stored.team_id, stored.channel_name, stored.channel_id, stored.tabs_ready = team_id, name, None, False
        accounts, _ = await self._accounts()
        unplaced = [a for a in accounts if a.active and a.id not in assigned and self._present(a, teams) is None]
        self.summary.failed += [(a.name, FULL) for a in unplaced]
        placed = [a for a in accounts if a.active and a not in unplaced]
        work = [a for a in placed if a.id in assigned or not a.tabs_ready or a.id not in welcomed]
        retire = [a for a in accounts if not a.active and a.channel_id and a.archived_at is None]
        self.summary.unchanged = len(placed) - len(work)
        await self._install_app({a.team_id for a in work if a.team_id})
        gate = asyncio.Semaphore(self.config.concurrency)
        total, done = len(work) + len(retire), 0
        self.on_progress(0, total)

        async def guarded(job: Callable[[], Awaitable[None]], account: Account) -> None:
            nonlocal done
            async with gate:
                try:
                    await job()
                except GraphFailure as failure:
                    self.summary.failed.append((account.name, str(failure)))
                done += 1
                self.on_progress(done, total)

        await asyncio.gather(
            *(guarded(partial(self._provision, a, teams, welcomed), a) for a in work),
            *(guarded(partial(self._retire, a, teams), a) for a in retire),
        )
        return self.summary

    async def _install_app(self, team_ids: set[str]) -> None:
        for team_id in sorted(team_ids):
            if self.config.app_id not in await self.gateway.installed_app_ids(team_id):
                await self.gateway.install_app(team_id, self.config.app_id)
                self.summary.apps_installed += 1

    async def _update(self, account_id: int, **values: object) -> None:
        async with self.db.transaction() as session:
            stored = await session.get(Account, account_id)
            assert stored is not None
            for key, value in values.items():
                setattr(stored, key, value)

    async def _directory_ids(self, account: Account) -> tuple[list[str], list[str]]:
        """Entra ids of the account team for a private channel: managers own it, the others are members."""
        async with self.db.transaction() as session:
            stored = await session.get(Account, account.id)
            assert stored is not None
            team = [(m.person.id, m.person.aad_object_id, m.person.upn, m.role) for m in stored.members]
        found: dict[int, str] = {}
        for person_id, known, upn, _ in team:
            if not known and upn:
                looked_up = await self.gateway.user_id(upn)  # a Graph call: no transaction is held across it
                if looked_up:
                    found[person_id] = looked_up
        if found:
            async with self.db.transaction() as session:
                for person_id, object_id in found.items():
                    person = await session.get(Person, person_id)
                    if person is not None and not person.aad_object_id:
                        person.aad_object_id = object_id
        owners: list[str] = []
        members: list[str] = []
        for person_id, known, _, role in team:
            member = known or found.get(person_id)
            if member:
                (owners if role == Role.MANAGER else members).append(member)
        if not owners:
            raise GraphFailure(None, "NoOwner", "no KA manager of this confidential account was found in the directory")
        return owners, members

    async def _provision(self, account: Account, teams: dict[str, TeamState], welcomed: set[int]) -> None:
        team_id, name = account.team_id or "", account.channel_name or ""
        created_now = False
        channel_id = account.channel_id
        if channel_id is None:
            existing = teams[team_id].channels.get(name.lower())
            if existing is None:
                owners, members = await self._directory_ids(account) if account.confidential else ([], [])
                try:
                    existing = await self.gateway.create_channel(
                        team_id,
                        name,
                        f"Key account {account.name}: contacts, decisions and plan",
                        private=account.confidential,
                        owner_ids=owners,
                        member_ids=members,
                    )
                    created_now = True
                    self.summary.channels_created += 1
                except NameTaken:
                    channels = await self.gateway.channels(team_id)
                    existing = next((c for c in channels if c.name.lower() == name.lower()), None)
                    if existing is None:
                        raise
                    self.summary.channels_adopted += 1
            else:
                self.summary.channels_adopted += 1
            channel_id = existing.id
            await self._update(account.id, channel_id=channel_id)
        if not account.tabs_ready:
            present = set() if created_now else await self.gateway.tab_entity_ids(team_id, channel_id)
            for tab in tab_specs(account, self.config.tab_base_url):
                if tab.entity_id not in present:
                    await self.gateway.add_tab(team_id, channel_id, self.config.app_id, tab)
                    self.summary.tabs_added += 1
            await self._update(account.id, tabs_ready=True)
        if account.id not in welcomed:
            async with self.db.transaction() as session:
                session.add(
                    OutboxMessage(kind=OutboxKind.CHANNEL_WELCOME, subject_id=account.id, account_id=account.id)
                )
            self.summary.welcomes_queued += 1

    async def _retire(self, account: Account, teams: dict[str, TeamState]) -> None:
        """Archive the channel of an account that left the list; rename it where Teams cannot archive."""
        team_id, channel_id = account.team_id or "", account.channel_id or ""
        try:
            await self.gateway.archive_channel(team_id, channel_id)
        except GraphFailure as failure:
            if failure.status is None or failure.status >= 500:
                raise
            taken = teams[team_id].channels.keys() if team_id in teams else ()
            await self.gateway.rename_channel(
                team_id, channel_id, archived_name(account.channel_name or account.name, taken)
            )
        await self._update(account.id, archived_at=utcnow())
        self.summary.archived += 1
