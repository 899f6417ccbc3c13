"""An org chart at Contoso Pharma for the relationship map's tests, and the contacts our people logged with it.

    Klaus Meier, CEO (decision maker, neutral, high power, inner circle)
    ├── Dr. Hanna Berger, Head of Procurement (economic buyer, mentor, high)       <- the demo's own
    ├── Tom Richter, Plant Manager Leipzig (user, neutral, medium)                  <- the demo's own
    │   └── Lukas Braun, Head of IT (technical influencer, support not known)
    ├── Jana Vogel, CFO (sponsor, non-supporter, high): influences Klaus
    └── <b>Sabine</b> & Co, Assistant to the CEO (gatekeeper, supporter, low): influences Jana

Megan alone met Klaus three days ago and Jana twenty days ago (two decision makers known by one of us only);
Alex and Adele met Hanna ten days ago; Alex met Tom 200 days ago; Patti's strength with Lukas is set by hand
(70). Jana (high power, executive, sways Klaus) outweighs our strongest supporter, Hanna; nobody is a champion.
The contacts go through kam's own log_contact, as the bot logs them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.accounts import get_account
from kam.contacts import LogContact, log_contact
from kam.models import (
    Attitude,
    BuyingRole,
    ContactKind,
    DecisionPower,
    Person,
    RelationshipStrength,
    Stakeholder,
    StakeholderInfluence,
    StakeholderLevel,
)
from kam.people import Caller, find_person
from tests.support.teams import USERS

CONTOSO = 1
MARKUP_NAME = "<b>Sabine</b> & Co"


@dataclass(frozen=True)
class Customer:
    name: str
    title: str
    boss: str | None
    role: BuyingRole
    support: Attitude | None
    power: DecisionPower
    level: StakeholderLevel = StakeholderLevel.MANAGEMENT
    inner_circle: bool = False


CUSTOMERS = (
    Customer(
        "Klaus Meier",
        "CEO",
        None,
        BuyingRole.DECISION_MAKER,
        Attitude.NEUTRAL,
        DecisionPower.HIGH,
        StakeholderLevel.EXECUTIVE,
        True,
    ),
    Customer(
        "Dr. Hanna Berger",
        "Head of Procurement",
        "Klaus Meier",
        BuyingRole.ECONOMIC_BUYER,
        Attitude.MENTOR,
        DecisionPower.HIGH,
    ),
    Customer(
        "Tom Richter", "Plant Manager Leipzig", "Klaus Meier", BuyingRole.USER, Attitude.NEUTRAL, DecisionPower.MEDIUM
    ),
    Customer("Lukas Braun", "Head of IT", "Tom Richter", BuyingRole.TECHNICAL_INFLUENCER, None, DecisionPower.MEDIUM),
    Customer(
        "Jana Vogel",
        "CFO",
        "Klaus Meier",
        BuyingRole.SPONSOR,
        Attitude.NON_SUPPORTER,
        DecisionPower.HIGH,
        StakeholderLevel.EXECUTIVE,
    ),
    Customer(
        MARKUP_NAME, "Assistant to the CEO", "Klaus Meier", BuyingRole.GATEKEEPER, Attitude.SUPPORTER, DecisionPower.LOW
    ),
)
INFLUENCES = (("Jana Vogel", "Klaus Meier"), (MARKUP_NAME, "Jana Vogel"))
# (who of ours logged it, who else of ours was there, whom they met, how many days ago)
CONTACTS = (
    ("megan", (), "Klaus Meier", 3),
    ("alex", ("adele",), "Dr. Hanna Berger", 10),
    ("alex", (), "Tom Richter", 200),
    ("megan", (), "Jana Vogel", 20),
)
HAND_SET = ("patti", "Lukas Braun", 70)


async def _person(session: AsyncSession, user: str) -> Person:
    found = await find_person(session, Caller(USERS[user].aad_object_id, None, ""))
    assert found is not None, user
    return found


async def seed_org_chart(session: AsyncSession, today: dt.date) -> dict[str, Stakeholder]:
    """Contoso's org chart, influence, contacts and a hand-set strength; the customer people by name."""
    account = await get_account(session, CONTOSO)
    existing = {s.name: s for s in await session.scalars(select(Stakeholder).where(Stakeholder.account_id == CONTOSO))}
    people: dict[str, Stakeholder] = {}
    for customer in CUSTOMERS:
        stakeholder = existing.get(customer.name) or Stakeholder(account_id=account.id, name=customer.name)
        stakeholder.title, stakeholder.level, stakeholder.buying_role = customer.title, customer.level, customer.role
        stakeholder.attitude, stakeholder.decision_power = customer.support, customer.power
        stakeholder.inner_circle = customer.inner_circle
        session.add(stakeholder)
        people[customer.name] = stakeholder
    await session.flush()
    for customer in CUSTOMERS:
        people[customer.name].reports_to_id = people[customer.boss].id if customer.boss else None
    for influencer, influenced in INFLUENCES:
        session.add(
            StakeholderInfluence(
                account_id=account.id, influencer_id=people[influencer].id, influenced_id=people[influenced].id
            )
        )
    for number, (author, others, whom, days_ago) in enumerate(CONTACTS):
        participants = tuple([(await _person(session, user)).id for user in others])
        contact = LogContact(
            CONTOSO,
            await _person(session, author),
            f"{number:032d}",
            today - dt.timedelta(days=days_ago),
            ContactKind.MEETING,
            f"Talked with {whom}",
            stakeholder_ids=(people[whom].id,),
            participant_ids=participants,
        )
        await log_contact(session, contact)
    user, whom, strength = HAND_SET
    patti = await _person(session, user)
    session.add(RelationshipStrength(stakeholder_id=people[whom].id, person_id=patti.id, strength=strength))
    await session.flush()
    return people
