"""A small demo portfolio, mapped onto the users and channels of the local Agents Playground."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.models import Account, AccountMember, Person, Role, Stakeholder, Tier


@dataclass(frozen=True)
class DemoPerson:
    aad_object_id: str
    teams_user_id: str
    name: str
    upn: str


@dataclass(frozen=True)
class DemoAccount:
    name: str
    tier: Tier
    team_id: str
    channel_id: str
    team: dict[str, Role]
    stakeholders: list[tuple[str, str]] = field(default_factory=list)
    functions: dict[str, str] = field(default_factory=dict)
    countries: list[str] = field(default_factory=list)
    customer_domains: list[str] = field(default_factory=list)


TENANT_ID = "00000000-0000-0000-0000-0000000000001"  # the Agents Playground's tenant (.m365agentsplayground.yml)

PEOPLE = [
    DemoPerson("00000000-0000-0000-0000-0000000000020", "user-id-0", "Alex Wilber", "alexw@example.com"),
    DemoPerson("00000000-0000-0000-0000-0000000000021", "user-id-1", "Megan Bowen", "meganb@example.com"),
    DemoPerson("00000000-0000-0000-0000-0000000000022", "user-id-2", "Adele Vance", "adelev@example.com"),
    DemoPerson("00000000-0000-0000-0000-0000000000023", "user-id-3", "Isaiah Langer", "isaiah@example.com"),
    DemoPerson("00000000-0000-0000-0000-0000000000024", "user-id-4", "Patti Fernandez", "pattif@example.com"),
    DemoPerson("00000000-0000-0000-0000-0000000000025", "user-id-5", "Lynne Robbins", "lynner@example.com"),
]

ACCOUNTS = [
    DemoAccount(
        name="Contoso Pharma",
        tier=Tier.STRATEGIC_KEY_ACCOUNT,
        team_id="team-id",
        channel_id="channel-contoso-id",
        team={
            "Megan Bowen": Role.MANAGER,
            "Alex Wilber": Role.MEMBER,
            "Adele Vance": Role.MEMBER,
            "Patti Fernandez": Role.MEMBER,
        },
        stakeholders=[("Dr. Hanna Berger", "Head of Procurement"), ("Tom Richter", "Plant Manager Leipzig")],
        functions={"Alex Wilber": "sales", "Adele Vance": "service", "Patti Fernandez": "country lead"},
        countries=["DE", "AT", "CH"],
        customer_domains=["contoso-pharma.example"],
    ),
    DemoAccount(
        name="Fabrikam Logistics",
        tier=Tier.KEY_ACCOUNT,
        team_id="team-id",
        channel_id="team-id",
        team={"Alex Wilber": Role.MANAGER, "Isaiah Langer": Role.MEMBER},
        stakeholders=[("Maria Lopez", "Senior Buyer")],
        functions={"Isaiah Langer": "service"},
        countries=["US", "MX"],
        customer_domains=["fabrikam.example"],
    ),
]


async def seed_demo(session: AsyncSession) -> int:
    """Create what is missing of the demo portfolio; returns how many accounts were created."""
    people: dict[str, Person] = {}
    for demo in PEOPLE:
        person = await session.scalar(select(Person).where(Person.aad_object_id == demo.aad_object_id))
        if person is None:
            person = Person(
                aad_object_id=demo.aad_object_id, teams_user_id=demo.teams_user_id, name=demo.name, upn=demo.upn
            )
            session.add(person)
        people[demo.name] = person
    await session.flush()

    created = 0
    for demo_account in ACCOUNTS:
        if await session.scalar(select(Account).where(Account.name == demo_account.name)) is not None:
            continue
        account = Account(
            name=demo_account.name,
            tier=demo_account.tier,
            team_id=demo_account.team_id,
            channel_id=demo_account.channel_id,
            countries=demo_account.countries,
            customer_domains=demo_account.customer_domains,
            members=[
                AccountMember(person=people[name], role=role, function=demo_account.functions.get(name))
                for name, role in demo_account.team.items()
            ],
            stakeholders=[Stakeholder(name=name, title=title) for name, title in demo_account.stakeholders],
        )
        session.add(account)
        created += 1
    return created
