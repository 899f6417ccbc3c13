"""The customer's people, and how well our side covers them."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.accounts import get_account, require_team_member, stakeholders_of
from kam.errors import InvalidReference, KamError, UnknownPerson
from kam.models import Account, Attitude, BuyingRole, Contact, Person, Stakeholder, StakeholderLevel

COVERAGE_DAYS = 90
MODEL_DAYS = 365
NAME_MAX = 200

Model = Literal["none", "1:1", "1:n", "n:n"]


class StakeholderExists(KamError):
    code = "error.stakeholder_exists"


@dataclass(frozen=True)
class AddStakeholder:
    account_id: int
    author: Person | None
    name: str
    title: str = ""
    function: str = ""
    level: StakeholderLevel | None = None
    buying_role: BuyingRole | None = None
    attitude: Attitude | None = None
    owner_id: int | None = None


async def add_stakeholder(session: AsyncSession, command: AddStakeholder) -> Stakeholder:
    """Anyone on the account team may add a customer person; the owner must be on the team too."""
    if command.author is None:
        raise UnknownPerson()
    account = await get_account(session, command.account_id)
    require_team_member(account, command.author)
    if command.owner_id is not None and command.owner_id not in {m.person_id for m in account.members}:
        raise InvalidReference()
    taken = select(Stakeholder.id).where(
        Stakeholder.account_id == account.id, func.lower(Stakeholder.name) == command.name.lower()
    )
    if await session.scalar(taken) is not None:
        raise StakeholderExists()
    stakeholder = Stakeholder(
        account_id=account.id,
        name=command.name,
        title=command.title or None,
        function=command.function or None,
        level=command.level,
        buying_role=command.buying_role,
        attitude=command.attitude,
        owner_id=command.owner_id,
    )
    session.add(stakeholder)
    await session.flush()
    return stakeholder


@dataclass(frozen=True)
class Coverage:
    stakeholder: Stakeholder
    last_met: dt.date | None
    met_by: tuple[str, ...]  # our people who met them in the coverage window
    covered: bool


@dataclass(frozen=True)
class RelationshipPicture:
    """KAM.md's relationship models: 1:1 (one of ours, one of theirs), 1:n (one of ours, many of theirs), n:n."""

    model: Model
    ours: int
    theirs: int
    coverage: list[Coverage]

    @property
    def uncovered(self) -> list[Stakeholder]:
        return [c.stakeholder for c in self.coverage if not c.covered]


def model_of(ours: int, theirs: int) -> Model:
    if theirs == 0:
        return "none"
    if theirs == 1 or ours == 0:
        return "1:1"
    return "1:n" if ours == 1 else "n:n"


async def relationship_picture(session: AsyncSession, account: Account, today: dt.date) -> RelationshipPicture:
    """From the logged contacts: who on our side meets whom on theirs, and who was not met in 90 days."""
    since = today - dt.timedelta(days=MODEL_DAYS)
    contacts = await session.scalars(select(Contact).where(Contact.account_id == account.id, Contact.met_on >= since))
    ours_by_stakeholder: dict[int, set[str]] = defaultdict(set)
    last_met: dict[int, dt.date] = {}
    ours, theirs = set(), set()
    recent = today - dt.timedelta(days=COVERAGE_DAYS)
    for contact in contacts:
        people = {contact.logged_by.name, *(p.name for p in contact.participants)}
        for stakeholder in contact.stakeholders:
            ours |= people
            theirs.add(stakeholder.id)
            last_met[stakeholder.id] = max(last_met.get(stakeholder.id, contact.met_on), contact.met_on)
            if contact.met_on >= recent:
                ours_by_stakeholder[stakeholder.id] |= people
    coverage = [
        Coverage(
            s,
            last_met.get(s.id),
            tuple(sorted(ours_by_stakeholder[s.id])),
            bool(ours_by_stakeholder[s.id]),
        )
        for s in await stakeholders_of(session, account.id)
    ]
    return RelationshipPicture(model_of(len(ours), len(theirs)), len(ours), len(theirs), coverage)
