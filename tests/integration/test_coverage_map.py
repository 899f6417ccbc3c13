"""The relationship map and the coverage figures (kam.relationships) read from the database, on a world whose
every strength and gap is worked out by hand below, on SQLite and PostgreSQL.

Today is 10 June 2026. Contoso's team: Megan (KA manager), Alex, Adele; Gus logged contacts but has left the
team. Its people: Sara (decision maker, executive, supporter, high power), Kurt (economic buyer, management,
non-supporter, high power, inner circle, reports to Sara, sways Uwe), Uwe (user), Tina (champion, management,
mentor). Each contact weighs kind * sqrt(2 / attendees) * 0.5 ** (age / 90):
- today, a 1:1 meeting Megan-Sara: 1;
- 90 days ago, a call Alex logged with Megan, Sara and Kurt (4 attendees): 0.6 * 0.7071 * 0.5 = 0.2121;
- 10 days ago, a meeting Gus logged with Adele and Kurt (3): 0.8165 * 0.9259 = 0.7560;
- 30 days ago, an e-mail Adele-Tina: 0.3 * 0.7937 = 0.2381 (15), but Adele's strength with Tina is set to 0;
- 400 days ago a visit Alex-Uwe (out of the year: no strength, but Uwe was met then); tomorrow a meeting
  Alex-Tina (not yet: nothing); Alex's strength with Uwe is set to 65, Gus's with Sara to 90 (Gus left).
Strengths (100 * (1 - 0.5 ** sum)): Megan-Sara 1.2121 -> 57; Megan-Kurt, Alex-Sara, Alex-Kurt 0.2121 -> 14;
Adele-Kurt 0.7560 -> 41; Alex-Uwe 65 by hand. Gaps: nobody is technical influencer, gatekeeper or sponsor;
Sara is known (20 or more) by Megan only, Kurt by Adele only; Sara, the executive, was met today; Kurt weighs
3 + 1 + 2 + 1 (sways Uwe) = 7, more than Sara's 3 + 2 + 1 (Kurt reports to her) = 6 and Tina's 1.
Fabrikam: Isaiah met Maria (no role) today.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event

from kam.migrate import upgrade
from kam.models import (
    Account,
    AccountMember,
    Attitude,
    BuyingRole,
    Contact,
    ContactKind,
    DecisionPower,
    Person,
    RelationshipStrength,
    Role,
    Stakeholder,
    StakeholderInfluence,
    StakeholderLevel,
    Tier,
)
from kam.relationships import (
    Gap,
    GapKind,
    MapMember,
    Tie,
    coverage_facts,
    relationship_map,
    relationship_maps,
)
from kam.storage import Database

TODAY = dt.date(2026, 6, 10)


def days_ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


@dataclass
class World:
    db: Database
    contoso: int
    fabrikam: int
    people: dict[str, int]
    stakeholders: dict[str, int]


async def seed(session: Any) -> tuple[int, int, dict[str, int], dict[str, int]]:
    people = {name: Person(name=name) for name in ("Megan", "Alex", "Adele", "Gus", "Isaiah")}
    contoso = Account(name="Contoso", tier=Tier.KEY_ACCOUNT)
    fabrikam = Account(name="Fabrikam", tier=Tier.KEY_ACCOUNT)
    session.add_all([*people.values(), contoso, fabrikam])
    await session.flush()
    team = [(contoso, "Megan", Role.MANAGER), (contoso, "Alex", Role.MEMBER), (contoso, "Adele", Role.MEMBER)]
    team.append((fabrikam, "Isaiah", Role.MANAGER))
    session.add_all([AccountMember(account_id=a.id, person_id=people[p].id, role=r) for a, p, r in team])
    sara = Stakeholder(
        account_id=contoso.id,
        name="Sara",
        buying_role=BuyingRole.DECISION_MAKER,
        level=StakeholderLevel.EXECUTIVE,
        attitude=Attitude.SUPPORTER,
        decision_power=DecisionPower.HIGH,
    )
    session.add(sara)
    await session.flush()
    kurt = Stakeholder(
        account_id=contoso.id,
        name="Kurt",
        buying_role=BuyingRole.ECONOMIC_BUYER,
        level=StakeholderLevel.MANAGEMENT,
        attitude=Attitude.NON_SUPPORTER,
        decision_power=DecisionPower.HIGH,
        inner_circle=True,
        reports_to_id=sara.id,
    )
    uwe = Stakeholder(account_id=contoso.id, name="Uwe", buying_role=BuyingRole.USER)
    tina = Stakeholder(
        account_id=contoso.id,
        name="Tina",
        buying_role=BuyingRole.CHAMPION,
        level=StakeholderLevel.MANAGEMENT,
        attitude=Attitude.MENTOR,
    )
    maria = Stakeholder(account_id=fabrikam.id, name="Maria")
    session.add_all([kurt, uwe, tina, maria])
    await session.flush()
    session.add(StakeholderInfluence(account_id=contoso.id, influencer_id=kurt.id, influenced_id=uwe.id))
    contacts = [
        (contoso, "Megan", (), TODAY, ContactKind.MEETING, (sara,)),
        (contoso, "Alex", ("Megan",), days_ago(90), ContactKind.CALL, (sara, kurt)),
        (contoso, "Gus", ("Adele",), days_ago(10), ContactKind.MEETING, (kurt,)),
        (contoso, "Adele", (), days_ago(30), ContactKind.EMAIL, (tina,)),
        (contoso, "Alex", (), days_ago(400), ContactKind.VISIT, (uwe,)),
        (contoso, "Alex", (), TODAY + dt.timedelta(days=1), ContactKind.MEETING, (tina,)),
        (fabrikam, "Isaiah", (), TODAY, ContactKind.MEETING, (maria,)),
    ]
    for number, (account, logger, participants, met_on, kind, theirs) in enumerate(contacts):
        session.add(
            Contact(
                account_id=account.id,
                logged_by_id=people[logger].id,
                idempotency_key=f"{number:032d}",
                met_on=met_on,
                kind=kind,
                summary="Met",
                stakeholders=list(theirs),
                participants=[people[p] for p in participants],
            )
        )
    hand_set = [("Adele", tina, 0), ("Alex", uwe, 65), ("Gus", sara, 90)]
    session.add_all(
        RelationshipStrength(stakeholder_id=s.id, person_id=people[p].id, strength=value, set_by_id=people["Megan"].id)
        for p, s, value in hand_set
    )
    await session.flush()
    named = {s.name: s.id for s in (sara, kurt, uwe, tina, maria)}
    return contoso.id, fabrikam.id, {n: p.id for n, p in people.items()}, named


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    await asyncio.to_thread(upgrade, database_url)
    db = Database(database_url)
    async with db.transaction() as session:
        seeded = await seed(session)
    yield World(db, *seeded)
    await db.close()


async def test_the_map_holds_who_of_ours_knows_whom_how_well_and_the_gaps(world: World) -> None:
    p, s = world.people, world.stakeholders
    async with world.db.transaction() as session:
        account = await session.get(Account, world.contoso)
        assert account is not None
        the_map = await relationship_map(session, account, TODAY)

    assert the_map.members == (
        MapMember(p["Adele"], "Adele", False),
        MapMember(p["Alex"], "Alex", False),
        MapMember(p["Megan"], "Megan", True),
    ), "Gus left: not ours"
    assert {t.person_id: t for t in the_map.ties if t.stakeholder_id == s["Sara"]} == {
        p["Megan"]: Tie(p["Megan"], s["Sara"], 57, 57, False, 2, TODAY),
        p["Alex"]: Tie(p["Alex"], s["Sara"], 14, 14, False, 1, days_ago(90)),
    }
    assert sorted((t.person_id, t.stakeholder_id, t.strength) for t in the_map.ties) == sorted(
        [
            (p["Megan"], s["Sara"], 57),
            (p["Alex"], s["Sara"], 14),
            (p["Megan"], s["Kurt"], 14),
            (p["Alex"], s["Kurt"], 14),
            (p["Adele"], s["Kurt"], 41),
            (p["Alex"], s["Uwe"], 65),
        ]
    ), "Adele-Tina set to 0 is gone; the future meeting and the visit of last year count nothing"
    assert Tie(p["Alex"], s["Uwe"], 65, 0, True, 0, None) in the_map.ties
    assert Tie(p["Adele"], s["Kurt"], 41, 41, False, 1, days_ago(10)) in the_map.ties
    last_met = {m.name: m.last_met for m in the_map.stakeholders}
    assert last_met == {"Kurt": days_ago(10), "Sara": TODAY, "Tina": days_ago(30), "Uwe": days_ago(400)}
    assert [m.name for m in the_map.stakeholders] == ["Kurt", "Sara", "Tina", "Uwe"]
    assert the_map.influences == ((s["Kurt"], s["Uwe"]),)
    assert the_map.gaps == (
        Gap(GapKind.ROLE_UNFILLED, role=BuyingRole.TECHNICAL_INFLUENCER),
        Gap(GapKind.ROLE_UNFILLED, role=BuyingRole.GATEKEEPER),
        Gap(GapKind.ROLE_UNFILLED, role=BuyingRole.SPONSOR),
        Gap(GapKind.SINGLE_THREADED, (s["Sara"], s["Kurt"]), person_ids=(p["Megan"], p["Adele"])),
        Gap(GapKind.OPPONENT_OUTWEIGHS, (s["Kurt"],)),
    )


async def test_coverage_of_many_accounts_at_once_in_a_fixed_number_of_statements(world: World) -> None:
    statements: list[str] = []
    event.listen(world.db.engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    async with world.db.transaction() as session:
        statements.clear()
        facts = await coverage_facts(session, [world.contoso, world.fabrikam, 999], TODAY)
        for_three = len(statements)
        statements.clear()
        await coverage_facts(session, [world.contoso, world.fabrikam], TODAY)
        for_two = len(statements)
        statements.clear()
        maps = await relationship_maps(session, [world.contoso], TODAY)
        for_one = len(statements)

    # On PostgreSQL, several accounts take one statement more: how to plan them (kam.relationships).
    planning = world.db.engine.dialect.name == "postgresql"
    assert for_three == for_two == 6 + planning and for_one == 6
    contoso = facts[world.contoso]
    assert (contoso.decision_makers, contoso.decision_makers_met) == (2, 2)
    # key players Sara (met today), Kurt (10 days ago), Tina (the champion, 30 days ago)
    assert contoso.key_player_freshness == pytest.approx((1 + (1 - 10 / 180) + (1 - 30 / 180)) / 3)
    assert contoso.gaps == maps[world.contoso].gaps
    fabrikam = facts[world.fabrikam]
    assert (fabrikam.decision_makers, fabrikam.key_player_freshness) == (0, None)
    assert fabrikam.gaps == (Gap(GapKind.NO_DECISION_MAKER),), "Maria's role is not known: no other gap"
    assert facts[999].gaps == (Gap(GapKind.NO_DECISION_MAKER),)
