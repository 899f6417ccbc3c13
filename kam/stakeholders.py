"""The customer's people, and how well our side covers them."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, distinct, func, select, true, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import Subquery

from kam.accounts import get_account, require_team_member, stakeholders_of
from kam.errors import InvalidReference, KamError, Refused, UnknownPerson
from kam.models import (
    Account,
    Attitude,
    BuyingRole,
    Contact,
    DecisionPower,
    Person,
    RelationshipStrength,
    Stakeholder,
    StakeholderInfluence,
    StakeholderLevel,
    contact_participants,
    contact_stakeholders,
    utcnow,
)
from kam.storage import insert_if_absent

COVERAGE_DAYS = 90
MODEL_DAYS = 365
NAME_MAX = 200
INFLUENCES_MAX = 20  # whom one person sways: the map draws a line for each

Model = Literal["none", "1:1", "1:n", "n:n"]


class StakeholderExists(KamError):
    code = "error.stakeholder_exists"


class StakeholderEmailExists(KamError):
    """Another customer person of the account has this e-mail address (it is how a CRM export names people)."""

    code = "error.stakeholder_email_exists"


class ReportsToCycle(KamError):
    """Reporting to oneself, or to someone who (through others) reports to oneself: an org chart has no circles."""

    code = "error.reports_to_cycle"


class UnknownReportsTo(KamError):
    """A reports-to id that is no other customer person of this account: the same answer whether it exists or not."""

    code = "field.bad_choice"


class TooManyInfluences(KamError):
    code = "stakeholder.form.influences_max"


class UnknownInfluence(KamError):
    """An influence id that is no other customer person of this account (as UnknownReportsTo)."""

    code = "field.bad_choice"


@dataclass(frozen=True)
class AddStakeholder:
    """A customer person as the form describes them; with `stakeholder_id`, the stored one to change."""

    account_id: int
    author: Person | None
    name: str
    title: str = ""
    function: str = ""
    level: StakeholderLevel | None = None
    buying_role: BuyingRole | None = None
    attitude: Attitude | None = None
    owner_id: int | None = None
    email: str = ""
    reports_to_id: int | None = None
    influences: tuple[int, ...] = ()  # whom this person sways informally
    decision_power: DecisionPower | None = None
    inner_circle: bool = False
    stakeholder_id: int | None = None


async def add_stakeholder(session: AsyncSession, command: AddStakeholder) -> Stakeholder:
    """Anyone on the account team may add or change a customer person; the owner must be on the team too.

    Every id is a claim: the edited person, whom they report to and whom they influence must be customer people
    of this account, or the change is refused without saying whether the id exists elsewhere.
    """
    if command.author is None:
        raise UnknownPerson()
    account = await get_account(session, command.account_id)
    require_team_member(account, command.author)
    if command.owner_id is not None and command.owner_id not in {m.person_id for m in account.members}:
        raise InvalidReference()
    stakeholder = (
        Stakeholder(account_id=account.id)
        if command.stakeholder_id is None
        else await stakeholder_of(session, account.id, command.stakeholder_id)
    )
    others = {s.id: s for s in await stakeholders_of(session, account.id) if s.id != command.stakeholder_id}
    if command.reports_to_id is not None and command.reports_to_id not in others:
        if command.reports_to_id == command.stakeholder_id:
            raise ReportsToCycle()
        raise UnknownReportsTo()
    if any(i not in others for i in command.influences):
        raise UnknownInfluence()
    if len(set(command.influences)) > INFLUENCES_MAX:
        raise TooManyInfluences()
    if any(s.name.lower() == command.name.lower() for s in others.values()):
        raise StakeholderExists()
    email = command.email.lower() or None
    if email is not None and any(s.email == email for s in others.values()):
        raise StakeholderEmailExists()
    if command.stakeholder_id is not None and command.reports_to_id is not None:
        chart = {s.id: s.reports_to_id for s in others.values()} | {command.stakeholder_id: command.reports_to_id}
        if in_a_cycle(chart, command.stakeholder_id):
            raise ReportsToCycle()
    stakeholder.name = command.name
    stakeholder.title = command.title or None
    stakeholder.function = command.function or None
    stakeholder.level = command.level
    stakeholder.buying_role = command.buying_role
    stakeholder.attitude = command.attitude
    stakeholder.owner_id = command.owner_id
    stakeholder.email = email
    stakeholder.reports_to_id = command.reports_to_id
    stakeholder.decision_power = command.decision_power
    stakeholder.inner_circle = command.inner_circle
    session.add(stakeholder)
    await session.flush()
    await set_influences(session, account.id, stakeholder.id, command.influences)
    return stakeholder


async def stakeholder_of(session: AsyncSession, account_id: int, stakeholder_id: int) -> Stakeholder:
    """A customer person of this account; Refused for any other id (of another account, or of nobody)."""
    found = await stakeholders_of(session, account_id, [stakeholder_id])
    if not found:
        raise Refused()
    return found[0]


async def influenced_by(session: AsyncSession, stakeholder_id: int) -> list[int]:
    """Whom this customer person sways informally (their ids)."""
    query = select(StakeholderInfluence.influenced_id).where(StakeholderInfluence.influencer_id == stakeholder_id)
    return sorted(await session.scalars(query))


async def set_influences(session: AsyncSession, account_id: int, influencer_id: int, influenced: Iterable[int]) -> bool:
    """Make these the people `influencer_id` sways; True if that changed anything."""
    wanted = set(influenced)
    stored = set(await influenced_by(session, influencer_id))
    if wanted == stored:
        return False
    if stored - wanted:
        await session.execute(
            delete(StakeholderInfluence).where(
                StakeholderInfluence.influencer_id == influencer_id,
                StakeholderInfluence.influenced_id.in_(stored - wanted),
            )
        )
    session.add_all(
        StakeholderInfluence(account_id=account_id, influencer_id=influencer_id, influenced_id=i)
        for i in sorted(wanted - stored)
    )
    await session.flush()
    return True


def in_a_cycle(reports_to: Mapping[int, int | None], start: int) -> bool:
    """Whether following who reports to whom from `start` comes back to `start`."""
    seen: set[int] = set()
    current = reports_to.get(start)
    while current is not None and current not in seen:
        if current == start:
            return True
        seen.add(current)
        current = reports_to.get(current)
    return False


# What a hand-set relationship strength says (kam.relationships reads it instead of the computed one).
STRENGTHS = {"none": 0, "weak": 30, "medium": 60, "strong": 90}


async def set_strength(
    session: AsyncSession, account: Account, stakeholder_id: int, person_id: int, strength: int | None, by: Person
) -> RelationshipStrength | None:
    """Set (0-100) or clear (None: the computed strength counts again) how strong `person_id`'s tie with a
    customer person is. Who may is the access policy's SET_STRENGTH, asked by the caller; the ids are checked
    here: a customer person of this account and a member of its team, else Refused."""
    stakeholder = await stakeholder_of(session, account.id, stakeholder_id)
    if person_id not in {m.person_id for m in account.members}:
        raise Refused()
    if strength is not None and not 0 <= strength <= 100:
        raise ValueError(f"a strength is 0 to 100, not {strength}")
    tie = (RelationshipStrength.stakeholder_id == stakeholder.id, RelationshipStrength.person_id == person_id)
    if strength is None:
        await session.execute(delete(RelationshipStrength).where(*tie))
        return None
    # Two saves of the same card at once (a retried invoke, a double tap) must not both insert.
    values = {"strength": strength, "set_by_id": by.id, "set_at": utcnow()}
    keys = {"stakeholder_id": stakeholder.id, "person_id": person_id}
    if not await insert_if_absent(session, RelationshipStrength, keys | values, list(keys)):
        await session.execute(update(RelationshipStrength).where(*tie).values(**values))
    query = select(RelationshipStrength).where(*tie).execution_options(populate_existing=True)
    return await session.scalar(query)


async def hand_set_strength(session: AsyncSession, stakeholder_id: int, person_id: int) -> int | None:
    """The hand-set strength of one tie, if any."""
    query = select(RelationshipStrength.strength).where(
        RelationshipStrength.stakeholder_id == stakeholder_id, RelationshipStrength.person_id == person_id
    )
    return await session.scalar(query)


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


def people_who_met(ids: list[int], since: dt.date, until: dt.datetime | None = None) -> Subquery:
    """(account, stakeholder, our person) for every contact met since `since` (and logged before `until`, if given)
    that names a stakeholder: its author and our participants. A subquery, for the counts made of it."""
    logged = Contact.created_at < until if until is not None else true()
    authors = (
        select(
            Contact.account_id.label("account_id"),
            contact_stakeholders.c.stakeholder_id.label("stakeholder_id"),
            Contact.logged_by_id.label("person_id"),
        )
        .join(contact_stakeholders, contact_stakeholders.c.contact_id == Contact.id)
        .where(Contact.account_id.in_(ids), Contact.met_on >= since, logged)
    )
    participants = (
        select(Contact.account_id, contact_stakeholders.c.stakeholder_id, contact_participants.c.person_id)
        .join(contact_stakeholders, contact_stakeholders.c.contact_id == Contact.id)
        .join(contact_participants, contact_participants.c.contact_id == Contact.id)
        .where(Contact.account_id.in_(ids), Contact.met_on >= since, logged)
    )
    return union_all(authors, participants).subquery()


async def relationship_model(session: AsyncSession, account_id: int, today: dt.date) -> Model:
    """The relationship model of `relationship_picture`, counted in the database (one statement): what the map page
    names, without loading every contact of a large account. Ours are counted by name, as the picture counts them."""
    met = people_who_met([account_id], today - dt.timedelta(days=MODEL_DAYS))
    ours = select(func.count(distinct(Person.name))).join(met, met.c.person_id == Person.id)
    theirs = select(func.count(distinct(met.c.stakeholder_id)))
    counted = (await session.execute(select(ours.scalar_subquery(), theirs.scalar_subquery()))).one()
    return model_of(counted[0], counted[1])


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
