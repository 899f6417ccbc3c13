"""A small demo portfolio, mapped onto the users and channels of the local Agents Playground."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.accounts import get_account
from kam.models import Account, AccountMember, Person, Role, Stakeholder, Tier
from kam.plans import ItemStatus, PlanContent, PlanItem, PlanItemKind, current_plan, save_plan


@dataclass(frozen=True)
class DemoPerson:
    aad_object_id: str
    teams_user_id: str
    name: str
    upn: str


@dataclass(frozen=True)
class DemoObjective:
    """An objective of a demo plan; `owner` names someone on the account team, `due_in_days` counts from seeding."""

    title: str
    owner: str
    due_in_days: int
    status: ItemStatus = ItemStatus.OPEN
    progress: int = 0


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
    plan_sections: dict[str, str] = field(default_factory=dict)
    objectives: list[DemoObjective] = field(default_factory=list)


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
        # A plan whose objectives three people own, so that its KA manager can run `review plan` right away.
        plan_sections={
            "facts": "Pharmaceutical manufacturer with plants in Leipzig, Linz and Basel; buys pumps, spare parts "
            "and service from us.",
            "potential_targets": "20 % more volume in Leipzig from 2027; service revenue doubled by a second yearly "
            "visit; one price for the three countries.",
            "key_stakeholders": "Dr. Hanna Berger (Head of Procurement), Tom Richter (Plant Manager Leipzig).",
            "customer_strategy": "Fewer suppliers across its three countries, with global framework agreements.",
        },
        objectives=[
            DemoObjective("Win the Leipzig volume expansion for 2027", "Alex Wilber", 180, ItemStatus.IN_PROGRESS, 20),
            DemoObjective("Second yearly service visit as a paid service", "Adele Vance", 90),
            DemoObjective("One price list for Germany, Austria and Switzerland", "Patti Fernandez", 120),
        ],
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
        # Alex, the Agents Playground's user, manages it: `review plan` in his chat reviews this one.
        plan_sections={
            "facts": "Logistics provider running hubs in Memphis and Monterrey on our conveyor systems.",
            "customer_strategy": "Next-day delivery across the US and Mexico; fewer, larger hubs.",
        },
        objectives=[
            DemoObjective("Weekend delivery pilot at the Memphis hub", "Alex Wilber", 60, ItemStatus.IN_PROGRESS, 40),
            DemoObjective("Service contract for the Monterrey hub", "Isaiah Langer", 150),
        ],
    ),
]


async def seed_demo(session: AsyncSession, *, plans: bool = True) -> int:
    """Create what is missing of the demo portfolio (people, accounts, their plans); returns how many accounts
    were created. A plan is seeded only while the account has none: what was saved since stays. Without
    `plans`, the accounts start with none (the tests' world, where each test saves the plan it needs)."""
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
    await session.flush()
    for demo_account in ACCOUNTS:
        if plans and demo_account.objectives:
            await _seed_plan(session, demo_account, people)
    return created


async def _seed_plan(session: AsyncSession, demo: DemoAccount, people: dict[str, Person]) -> None:
    found = await session.scalar(select(Account.id).where(Account.name == demo.name))
    assert found is not None, "seeded above"
    account = await get_account(session, found)
    if (await current_plan(session, account)).version:
        return
    today = dt.date.today()
    items = [
        PlanItem(
            kind=PlanItemKind.OBJECTIVE,
            title=objective.title,
            owner_id=people[objective.owner].id,
            due_on=today + dt.timedelta(days=objective.due_in_days),
            status=objective.status,
            progress=objective.progress,
        )
        for objective in demo.objectives
    ]
    manager = next(people[name] for name, role in demo.team.items() if role == Role.MANAGER)
    await save_plan(session, account, manager, 0, PlanContent(sections=demo.plan_sections, items=items))
