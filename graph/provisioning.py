"""Bringing the tenant in line with the key account list: a channel per account, with tabs.

Resumable by construction: every account's progress is stored as it happens
(team and channel name reserved before the channel is created, channel id,
tabs done, welcome queued), and existing channels and tabs are looked up before
anything is created. Killing a run at any moment and running again finishes
the job without duplicates.

A confidential account gets a shared channel whose members are only its account team
(owners: its KA managers), kept in step with the account list on every run, with kambot
added to it (an app of the host team is not in a shared channel until added). Its old
private channel, where Teams never let the bot post, is archived and replaced.

Everyone on an account team must be in the team that holds the account's channel:
Teams lets the bot open a 1:1 chat only with people in a team where it is installed
(or who added it themselves), and a standard channel shows only to the team. Those
missing are added where the admin granted the permission; else they are reported on
every run, and once to the KA managers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import select

from graph.gateway import ChannelInfo, GraphFailure, Membership, NameTaken, TabSpec, TeamsGateway
from kam.channel_names import archived_name, channel_name, unique_name
from kam.models import Account, AccountMember, OutboxMessage, Person, Role, utcnow
from kam.outbox import OutboxKind
from kam.storage import Database

TABS = (("plan", "Plan"), ("log", "Log"), ("stakeholders", "Stakeholders"), ("insights", "Insights"))
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


@dataclass(frozen=True)
class Missing:
    """Someone on an account team who is not in the team that holds the account's channel."""

    account: str
    person: str
    team_id: str
    in_directory: bool = True  # False: their UPN is not found in Entra ID, so nobody can add them as they are


@dataclass
class Summary:
    channels_created: int = 0
    channels_adopted: int = 0
    channels_replaced: int = 0  # confidential accounts' private channels, archived for a shared one
    tabs_added: int = 0
    apps_installed: int = 0
    welcomes_queued: int = 0
    archived: int = 0
    unchanged: int = 0
    channel_members_changed: int = 0  # added to or removed from confidential accounts' channels
    team_members_added: int = 0
    missing: list[Missing] = field(default_factory=list)  # not in their account's team, and not added
    failed: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class TeamPerson:
    """Someone on an account team, as provisioning needs them."""

    person_id: int
    name: str
    object_id: str | None  # Entra object id; None when the directory does not know them
    manager: bool


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
        self._people: dict[int, list[TeamPerson]] = {}  # account id -> its team, read once a run
        self._may_add_team_members = True

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

    def _shared(self, account: Account, teams: dict[str, TeamState]) -> bool:
        present = self._present(account, teams)
        return present is not None and present.membership == "shared"

    def _to_replace(self, accounts: list[Account], teams: dict[str, TeamState]) -> list[Account]:
        """Confidential accounts whose channel is not shared: a private one, where Teams does not let the bot
        post, or a standard one (the account became confidential), which the whole team reads."""
        return [
            a
            for a in accounts
            if a.active and a.confidential and self._present(a, teams) is not None and not self._shared(a, teams)
        ]

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
        replace = {a.id for a in self._to_replace(accounts, teams)}
        assigned = self._assign(accounts, teams)
        steps: list[Step] = []
        needs_app = set()
        for account in accounts:
            if not account.active:
                if account.channel_id and account.archived_at is None:
                    steps.append(Step(account.name, "archive channel", account.channel_name or account.channel_id))
                continue
            if account.id in replace:
                steps.append(
                    Step(account.name, "replace channel", "not shared: a shared channel, then the old archived")
                )
                continue
            if account.id not in assigned and self._present(account, teams) is None:
                steps.append(Step(account.name, "cannot place", FULL))
                continue
            if account.id in assigned:
                team_id, name = assigned[account.id]
                existing = teams[team_id].channels.get(name.lower())
                kind = "shared " if account.confidential else ""
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
        await self._read_people([a for a in accounts if a.active])  # once: channel changes do not change teams
        replace = self._to_replace(accounts, teams)
        kept_as_is: set[int] = set()  # their channel could not be replaced: reported, left alone this run
        for account in replace:
            try:
                self._owners_and_members(account)  # a shared channel can be made: else keep the old one
            except GraphFailure as failure:
                self.summary.failed.append((account.name, f"its channel cannot be replaced by a shared one: {failure}"))
                kept_as_is.add(account.id)
                continue
            # The old channel stays until the shared one exists (its posts wait meanwhile): _finish_replacements.
            await self._update(
                account.id, replaced_channel_id=account.channel_id, channel_id=None, channel_name=None, tabs_ready=False
            )
            welcomed.discard(account.id)
        accounts, _ = await self._accounts()
        assigned = self._assign(accounts, teams)
        async with self.db.transaction() as session:
            for account_id, (team_id, name) in assigned.items():
                stored = await session.get(Account, account_id)
                assert stored is not None
                stored.team_id, stored.channel_name, stored.channel_id, stored.tabs_ready = team_id, name, None, False
        accounts, _ = await self._accounts()
        unplaced = [a for a in accounts if a.active and a.id not in assigned and self._present(a, teams) is None]
        self.summary.failed += [(a.name, FULL) for a in unplaced]
        placed = [a for a in accounts if a.active and a not in unplaced and a.id not in kept_as_is]
        # Confidential channels are looked at on every run: their members follow the account list.
        work = [
            a
            for a in placed
            if a.id in assigned or not a.tabs_ready or a.id not in welcomed or a.confidential or self._shared(a, teams)
        ]
        retire = [a for a in accounts if not a.active and a.channel_id and a.archived_at is None]
        self.summary.unchanged = len(placed) - len(work)  # and those of `work` that turn out in order
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
        await self._finish_replacements(teams)
        try:
            await self._keep_teams_whole(placed)
        except GraphFailure as failure:
            self.summary.failed.append(("", f"team membership: {failure}"))
        return self.summary

    async def _finish_replacements(self, teams: dict[str, TeamState]) -> None:
        """Accounts whose old channel waits for its shared successor: retired once that exists (renamed out of
        the way and archived, the new one taking the account's own name), put back if it could not be made."""
        async with self.db.transaction() as session:
            query = select(Account).where(Account.replaced_channel_id.is_not(None))
            pending = [
                (a.id, a.name, a.team_id or "", a.channel_id, a.replaced_channel_id or "")
                for a in await session.scalars(query)
            ]
        for account_id, name, team_id, channel_id, old_id in pending:
            old = teams[team_id].by_id(old_id) if team_id in teams else None
            try:
                if channel_id is None:  # the shared channel could not be made (reported): the old one back, for now
                    await self._update(
                        account_id, channel_id=old_id, channel_name=old.name if old else None, replaced_channel_id=None
                    )
                    continue
                taken = {c.name.lower() for c in await self.gateway.channels(team_id)}
                if old is not None and not old.archived:
                    retired_as = archived_name(old.name, taken)
                    await self.gateway.rename_channel(team_id, old_id, retired_as)
                    taken = (taken - {old.name.lower()}) | {retired_as.lower()}
                    with contextlib.suppress(GraphFailure):  # Teams cannot archive some: renamed, it is out of the way
                        await self.gateway.archive_channel(team_id, old_id)
                own = channel_name(name)
                if own.lower() not in taken:
                    await self.gateway.rename_channel(team_id, channel_id, own)
                    await self._update(account_id, channel_name=own)
                await self._update(account_id, replaced_channel_id=None)
                self.summary.channels_replaced += 1
            except GraphFailure as failure:
                self.summary.failed.append((name, f"retiring its old channel (tried again next run): {failure}"))

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

    async def _read_people(self, accounts: Sequence[Account]) -> None:
        """Every account team, with Entra object ids; those known only by UPN are looked up once (and kept)."""
        ids = [a.id for a in accounts]
        rows = [  # loaded with the accounts
            (a.id, m.person.id, m.person.name, m.person.aad_object_id, m.person.upn, m.role)
            for a in accounts
            for m in a.members
        ]
        unknown = {person_id: upn for _, person_id, _, known, upn, _ in rows if not known and upn}
        found: dict[int, str] = {}
        for person_id, upn in unknown.items():
            looked_up = await self.gateway.user_id(upn)  # a Graph call: no transaction is held across it
            if looked_up:
                found[person_id] = looked_up
        if found:
            async with self.db.transaction() as session:
                for person_id, object_id in found.items():
                    person = await session.get(Person, person_id)
                    if person is not None and not person.aad_object_id:
                        person.aad_object_id = object_id
        self._people = {account_id: [] for account_id in ids}
        for account_id, person_id, name, known, _, role in rows:
            self._people[account_id].append(
                TeamPerson(person_id, name, known or found.get(person_id), role == Role.MANAGER)
            )

    def _owners_and_members(self, account: Account) -> tuple[list[str], list[str]]:
        """Entra ids of the account team for its confidential channel: managers own it, the others are members."""
        team = self._people.get(account.id, [])
        owners = [p.object_id for p in team if p.manager and p.object_id]
        members = [p.object_id for p in team if not p.manager and p.object_id and p.object_id not in owners]
        if not owners:
            raise GraphFailure(None, "NoOwner", "no KA manager of this confidential account was found in the directory")
        return owners, members

    async def _provision(self, account: Account, teams: dict[str, TeamState], welcomed: set[int]) -> None:
        if not await self._provide(account, teams, welcomed):
            self.summary.unchanged += 1  # a confidential account whose channel was in order

    async def _provide(self, account: Account, teams: dict[str, TeamState], welcomed: set[int]) -> bool:
        """Bring the account's channel in line; whether anything was written (accounts run side by side, so each
        says so itself rather than the summary's totals)."""
        team_id, name = account.team_id or "", account.channel_name or ""
        created_now = wrote = False
        channel_id = account.channel_id
        description = f"Key account {account.name}: contacts, decisions and plan"
        if channel_id is None:
            existing = teams[team_id].channels.get(name.lower())
            if existing is not None and account.confidential and existing.membership != "shared":
                in_the_way = f"a {existing.membership} channel {name!r} is in the way: rename it"
                raise GraphFailure(None, "NotShared", in_the_way)
            if existing is None:
                try:
                    if account.confidential:
                        owners, _ = self._owners_and_members(account)
                        existing = await self.gateway.create_shared_channel(team_id, name, description, owners[0])
                    else:
                        existing = await self.gateway.create_channel(team_id, name, description)
                    created_now = True
                    self.summary.channels_created += 1
                except NameTaken:
                    channels = await self.gateway.channels(team_id)
                    existing = next((c for c in channels if c.name.lower() == name.lower()), None)
                    if existing is None or (account.confidential and existing.membership != "shared"):
                        raise
                    self.summary.channels_adopted += 1
            else:
                self.summary.channels_adopted += 1
            channel_id, wrote = existing.id, True
            await self._update(account.id, channel_id=channel_id)
        found = teams[team_id].by_id(channel_id) if team_id in teams else None
        if account.confidential or (found is not None and found.membership == "shared"):
            wrote |= await self._confidential_channel(account, team_id, channel_id, created_now)
        if not account.tabs_ready:
            present = set() if created_now else await self.gateway.tab_entity_ids(team_id, channel_id)
            for tab in tab_specs(account, self.config.tab_base_url):
                if tab.entity_id not in present:
                    await self.gateway.add_tab(team_id, channel_id, self.config.app_id, tab)
                    self.summary.tabs_added += 1
                    wrote = True
            await self._update(account.id, tabs_ready=True)
        if account.id not in welcomed:
            async with self.db.transaction() as session:
                session.add(
                    OutboxMessage(kind=OutboxKind.CHANNEL_WELCOME, subject_id=account.id, account_id=account.id)
                )
            self.summary.welcomes_queued += 1
            wrote = True
        return wrote

    async def _confidential_channel(self, account: Account, team_id: str, channel_id: str, created_now: bool) -> bool:
        """Its members are exactly the account team (KA managers own it), and kambot is in it; whether members
        were changed."""
        owners, members = self._owners_and_members(account)
        if created_now or self.config.app_id not in await self.gateway.enabled_app_ids(team_id, channel_id):
            await self.gateway.enable_app(team_id, channel_id, self.config.app_id)
        current: dict[str, Membership] = (
            {owners[0]: Membership("", owners[0], True)}
            if created_now
            else {m.user_id: m for m in await self.gateway.channel_members(team_id, channel_id)}
        )
        wanted = {**{m: False for m in members}, **{o: True for o in owners}}
        changed = False
        # Owners first, removals last: the channel never goes without an owner on the way.
        for user_id, owner in sorted(wanted.items(), key=lambda item: not item[1]):
            here = current.get(user_id)
            if here is not None and here.owner == owner:
                continue
            if here is not None:
                await self.gateway.remove_channel_member(team_id, channel_id, here.id)
            await self.gateway.add_channel_member(team_id, channel_id, user_id, owner=owner)
            self.summary.channel_members_changed += 1
            changed = True
        for user_id, here in current.items():
            if user_id not in wanted:
                await self.gateway.remove_channel_member(team_id, channel_id, here.id)
                self.summary.channel_members_changed += 1
                changed = True
        return changed

    async def _keep_teams_whole(self, accounts: Sequence[Account]) -> None:
        """Everyone on an account team in the team holding its channel: added where permitted, else reported."""
        by_team: dict[str, list[Account]] = {}
        for account in accounts:
            if account.team_id:
                by_team.setdefault(account.team_id, []).append(account)
        newly_missing: list[tuple[int, int]] = []
        for team_id, placed in sorted(by_team.items()):
            present = {m.user_id for m in await self.gateway.team_members(team_id)}
            for account in placed:
                for person in self._people.get(account.id, []):
                    if person.object_id in present:
                        continue
                    if person.object_id is not None and await self._add_to_team(team_id, person.object_id):
                        present.add(person.object_id)
                        self.summary.team_members_added += 1
                        continue
                    self.summary.missing.append(
                        Missing(account.name, person.name, team_id, in_directory=person.object_id is not None)
                    )
                    newly_missing.append((account.id, person.person_id))
        await self._tell_managers(newly_missing)

    async def _add_to_team(self, team_id: str, user_id: str) -> bool:
        """Add someone as a member of the team; False when the permission for it was not granted."""
        if not self._may_add_team_members:
            return False
        try:
            await self.gateway.add_team_member(team_id, user_id)
        except GraphFailure as failure:
            if failure.status == 404:  # not (or no longer) in the directory, or blocked: a person must look
                return False
            if failure.status != 403:
                raise
            self._may_add_team_members = False  # the admin chose not to grant it: report instead, from now on
            return False
        return True

    async def _tell_managers(self, missing: list[tuple[int, int]]) -> None:
        """One card per account to its KA managers about members missing from the team, once per member."""
        if not missing:
            return
        async with self.db.transaction() as session:
            told: dict[int, list[int]] = {}
            for account_id, person_id in missing:
                member = await session.scalar(
                    select(AccountMember).where(
                        AccountMember.account_id == account_id, AccountMember.person_id == person_id
                    )
                )
                if member is None or member.missing_reported_at is not None:
                    continue
                member.missing_reported_at = utcnow()
                told.setdefault(account_id, []).append(person_id)
            for account_id, person_ids in told.items():
                account = await session.get(Account, account_id)
                managers = [m.person for m in account.members if m.role == Role.MANAGER] if account else []
                for manager in managers:
                    session.add(
                        OutboxMessage(
                            kind=OutboxKind.MEMBERS_MISSING,
                            subject_id=manager.id,
                            account_id=account_id,
                            detail={"people": person_ids},
                        )
                    )

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
