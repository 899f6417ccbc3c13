"""The steering figures (kam.kpis) on a small world whose every figure is worked out by hand below.

Today is Wednesday 10 June 2026; the windows end at its start. Contoso (a strategic key account since 2025) has:
- posts: contacts logged 1, 2 and 3 June and a decision 4 June, posted 2, 10, 4 and 30 minutes later
  -> median 7, p90 = 10 + 0.7 * (30 - 10) = 24; a contact of February (out of the 90 days) posted after
  a week, and one of 26 May whose post is still pending, are not among them;
- acknowledgements asked: one given after exactly 24 h (in time), one after 24 h 1 min (late), one never
  (late), one asked yesterday noon and not given yet (undecided, left out), one asked yesterday and given an
  hour later (in time), one not required (left out) -> 2 of 4;
- meetings: Friday 15 May (first contact after it 26 May: late), Friday 22 May (contact Tuesday 26 May: two
  working days, in time; two of us attended, one meeting), Wednesday 3 June (no contact after it: late),
  Tuesday 9 June (not logged, its two working days not over: left out) -> 1 of 3;
- who logs (90 days): Megan a contact and the decision, Alex two contacts, Gus one, confidential, and Gus has
  left the team since;
- stakeholders: Sara (decision maker, executive) met by Megan and Alex, Dirk (decision maker, operational)
  met in February only, Ina (influencer, management) met by Gus only, Uwe (user) never -> decision makers
  1 of 2, executives and management 2 of 2, met by one of us: Ina; over the year three of us met three of
  theirs: n:n;
- plan (newest version): three objectives (one done, one late, one due later), three actions (one done,
  one blocked and late, one without date); "Revenue target: 1.2 m";
- reviews closed 1 April, 1 May and 1 October 2025: the quarters of the last year counted back from today
  (included) are [12 Mar, 11 Jun), [11 Dec, 12 Mar), [11 Sep, 11 Dec), [12 Jun, 11 Sep) -> 2 of 4;
- conflicts in the last year: two framework agreements (the earlier one ended 10 days later), a free service
  after a paid one marked "not a conflict" after 3 days, an open price risk -> 3 caught, 1 dismissed, median
  of 10 and 3 days open = 6.5; one of January 2025 is out of the year;
- results 2025: revenue 800,000 of a potential of 2,000,000 -> 40 % exploited; figures for 2027 are ignored.
Fabrikam joined on 1 June 2026 and has nothing yet.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event

from kam.access import KpiScope
from kam.kpi_plan import revenue_target, reviews_on_time
from kam.kpi_windows import percentile, working_days_after
from kam.kpis import (
    FlowKpis,
    KpiCache,
    PlanKpis,
    RelationshipKpis,
    kpis_for,
    monthly_trend,
    within_scope,
)
from kam.migrate import upgrade
from kam.models import (
    Account,
    AccountMember,
    Acknowledgement,
    BuyingRole,
    Contact,
    ContactKind,
    Decision,
    DecisionCategory,
    Flag,
    FlagKind,
    ItemKind,
    MeetingNudge,
    OutboxMessage,
    OutboxStatus,
    Person,
    PlanVersion,
    ResultFigures,
    Review,
    Role,
    Stakeholder,
    StakeholderLevel,
    Tier,
)
from kam.outbox import OutboxKind
from kam.storage import Database

TODAY = dt.date(2026, 6, 10)
SECRET = "the customer's confidential expansion plan"


def at(day: str, time: str = "10:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}:00+00:00")


@dataclass
class World:
    db: Database
    contoso: int
    fabrikam: int


class Seeder:
    def __init__(self, session: Any) -> None:
        self.session = session
        self.keys = 0

    def key(self) -> str:
        self.keys += 1
        return f"{self.keys:032d}"

    async def add(self, row: Any) -> Any:
        self.session.add(row)
        await self.session.flush()
        return row

    async def contact(
        self,
        account: Account,
        by: Person,
        logged: dt.datetime,
        *,
        posted: dt.datetime | None = None,
        stakeholders: tuple[Stakeholder, ...] = (),
        participants: tuple[Person, ...] = (),
        confidential: bool = False,
    ) -> Contact:
        contact = await self.add(
            Contact(
                account_id=account.id,
                logged_by_id=by.id,
                idempotency_key=self.key(),
                met_on=logged.date(),
                kind=ContactKind.MEETING,
                summary=SECRET if confidential else "Quarterly call",
                confidential=confidential,
                created_at=logged,
                stakeholders=list(stakeholders),
                participants=list(participants),
            )
        )
        await self.post(OutboxKind.CONTACT_LOGGED, contact.id, account, logged, posted)
        return contact

    async def post(
        self, kind: OutboxKind, subject: int, account: Account, logged: dt.datetime, posted: dt.datetime | None
    ) -> None:
        status = OutboxStatus.SENT if posted else OutboxStatus.PENDING
        await self.add(
            OutboxMessage(
                kind=kind.value,
                subject_id=subject,
                account_id=account.id,
                status=status,
                created_at=logged,
                sent_at=posted,
            )
        )

    async def ack(
        self, account: Account, person: Person, item: int, asked: dt.datetime, given: dt.datetime | None, **kw: Any
    ) -> None:
        await self.add(
            Acknowledgement(
                account_id=account.id,
                item_kind=ItemKind.CONTACT,
                item_id=item,
                person_id=person.id,
                created_at=asked,
                acknowledged_at=given,
                **kw,
            )
        )

    async def meeting(self, account: Account, person: Person, key: str, starts: dt.datetime) -> None:
        await self.add(
            MeetingNudge(
                person_id=person.id,
                account_id=account.id,
                meeting_key=key,
                starts_at=starts,
                ends_at=starts + dt.timedelta(hours=1),
                created_at=starts + dt.timedelta(hours=1, minutes=5),  # the calendar read after the meeting
            )
        )

    async def flag(self, account: Account, owner: Person, kind: FlagKind, created: dt.datetime, **kw: Any) -> Flag:
        return await self.add(
            Flag(
                account_id=account.id,
                kind=kind,
                item_kind=ItemKind.DECISION,
                item_id=1,
                owner_id=owner.id,
                created_at=created,
                **kw,
            )
        )


def plan_item(kind: str, title: str, status: str, due: str | None) -> dict[str, Any]:
    return {"id": f"{abs(hash(title)) % 10**12:032x}", "kind": kind, "title": title, "status": status, "due_on": due}


async def seed(session: Any) -> tuple[int, int]:
    s = Seeder(session)
    megan = await s.add(Person(name="Megan Bowen"))
    alex = await s.add(Person(name="Alex Wilber"))
    gus = await s.add(Person(name="Gus Gone"))
    contoso = await s.add(
        Account(name="Contoso", tier=Tier.STRATEGIC_KEY_ACCOUNT, created_at=at("2025-01-01"), customer_domains=[])
    )
    fabrikam = await s.add(Account(name="Fabrikam", tier=Tier.KEY_ACCOUNT, created_at=at("2026-06-01")))
    await s.add(AccountMember(account_id=contoso.id, person_id=megan.id, role=Role.MANAGER, function="Sales"))
    await s.add(AccountMember(account_id=contoso.id, person_id=alex.id, role=Role.MEMBER, function="Service"))
    await s.add(AccountMember(account_id=fabrikam.id, person_id=alex.id, role=Role.MANAGER, function="Sales"))

    def stakeholder(name: str, role: BuyingRole | None, level: StakeholderLevel | None) -> Stakeholder:
        return Stakeholder(account_id=contoso.id, name=name, buying_role=role, level=level)

    sara = await s.add(stakeholder("Sara", BuyingRole.DECISION_MAKER, StakeholderLevel.EXECUTIVE))
    dirk = await s.add(stakeholder("Dirk", BuyingRole.DECISION_MAKER, StakeholderLevel.OPERATIONAL))
    ina = await s.add(stakeholder("Ina", BuyingRole.TECHNICAL_INFLUENCER, StakeholderLevel.MANAGEMENT))
    await s.add(stakeholder("Uwe", BuyingRole.USER, None))

    await s.contact(contoso, megan, at("2026-02-01"), posted=at("2026-02-08"), stakeholders=(dirk,))
    c0 = await s.contact(contoso, alex, at("2026-05-26"))
    c1 = await s.contact(
        contoso, megan, at("2026-06-01"), posted=at("2026-06-01", "10:02"), stakeholders=(sara,), participants=(alex,)
    )
    await s.contact(contoso, alex, at("2026-06-02"), posted=at("2026-06-02", "10:10"))
    await s.contact(
        contoso, gus, at("2026-06-03"), posted=at("2026-06-03", "10:04"), stakeholders=(ina,), confidential=True
    )
    decision = await s.add(
        Decision(
            account_id=contoso.id,
            logged_by_id=megan.id,
            idempotency_key=s.key(),
            title="Price list 2027",
            category=DecisionCategory.PRICING,
            decision="Plus 3 %",
            decided_by="Megan Bowen",
            effective_on=dt.date(2027, 1, 1),
            created_at=at("2026-06-04", "09:00"),
        )
    )
    await s.post(OutboxKind.DECISION_LOGGED, decision.id, contoso, decision.created_at, at("2026-06-04", "09:30"))

    await s.ack(contoso, alex, c1.id, at("2026-06-01"), at("2026-06-02"))
    await s.ack(contoso, gus, c1.id, at("2026-06-01"), at("2026-06-02", "10:01"))
    await s.ack(contoso, alex, c0.id, at("2026-06-02", "12:00"), None)
    await s.ack(contoso, megan, c0.id, at("2026-06-09", "12:00"), None)
    await s.ack(contoso, gus, c0.id, at("2026-06-09", "13:00"), at("2026-06-09", "14:00"))
    await s.ack(contoso, megan, c1.id, at("2026-06-01"), at("2026-06-05"), required=False)

    await s.meeting(contoso, megan, "m0", at("2026-05-15", "15:00"))
    await s.meeting(contoso, megan, "m1", at("2026-05-22", "15:00"))
    await s.meeting(contoso, alex, "m1", at("2026-05-22", "15:00"))
    await s.meeting(contoso, megan, "m2", at("2026-06-03", "11:00"))
    await s.meeting(contoso, megan, "m3", at("2026-06-09", "11:00"))

    items = [
        plan_item("objective", "Win the service contract", "done", "2026-03-01"),
        plan_item("objective", "Enter the Polish plants", "in_progress", "2026-06-01"),
        plan_item("objective", "Joint innovation day", "open", "2026-12-31"),
        plan_item("action", "Workshop with purchasing", "done", "2026-01-15"),
        plan_item("action", "Reference visit", "blocked", "2026-05-01"),
        plan_item("action", "Map the decision makers", "open", None),
    ]
    sections = {"potential_targets": "Revenue target: 1.2 m for 2026, potential 2 m."}
    await s.add(PlanVersion(account_id=contoso.id, version=1, content={"items": items[:1]}, saved_by_id=megan.id))
    content = {"sections": sections, "items": items}
    await s.add(PlanVersion(account_id=contoso.id, version=2, content=content, saved_by_id=megan.id))

    for closed in (at("2026-04-01"), at("2026-05-01"), at("2025-10-01"), None):
        await s.add(
            Review(
                account_id=contoso.id,
                started_by_id=megan.id,
                started_at=at("2025-09-20"),
                due_on=dt.date(2025, 10, 1),
                closed_at=closed,
            )
        )

    agreement = await s.flag(contoso, megan, FlagKind.FRAMEWORK_AGREEMENT, at("2025-12-01"), closed_at=at("2026-01-11"))
    await s.flag(contoso, alex, FlagKind.PARALLEL_FRAMEWORK, at("2026-01-01"), related_id=agreement.id)
    await s.flag(contoso, alex, FlagKind.FREE_AFTER_PAID, at("2026-02-01"), dismissed_at=at("2026-02-04"))
    await s.flag(contoso, alex, FlagKind.PRICE_RISK, at("2026-03-01"))
    await s.flag(contoso, alex, FlagKind.FREE_AFTER_PAID, at("2025-01-05"))

    for year, revenue in ((2025, 800_000.0), (2027, 999.0)):
        await s.add(
            ResultFigures(
                account_id=contoso.id,
                year=year,
                revenue=revenue,
                margin=0.2,
                potential=2_000_000.0,
                share_of_wallet=0.4,
            )
        )
    # Gus has left the team: his contact stays, his membership is gone.
    return contoso.id, fabrikam.id


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    await asyncio.to_thread(upgrade, database_url)
    db = Database(database_url)
    async with db.transaction() as session:
        contoso, fabrikam = await seed(session)
    yield World(db, contoso, fabrikam)
    await db.close()


async def test_every_figure_of_an_account_is_the_one_worked_out_by_hand(world: World) -> None:
    async with world.db.transaction() as session:
        kpis = (await kpis_for(session, [world.contoso, world.fabrikam], TODAY))[world.contoso]

    assert kpis.flow == FlowKpis(
        post_minutes_median=7.0,
        post_minutes_p90=24.0,
        acknowledged_within_24h=0.5,
        meetings_logged_within_2_workdays=pytest.approx(1 / 3),
        logged_by_member={"Alex Wilber": 2, "Megan Bowen": 2, "Gus Gone": 1},
        logged_by_function={"Sales": 2, "Service": 2, "": 1},
    )
    assert kpis.relationships == RelationshipKpis(
        decision_makers_met_90d=0.5, executives_met_90d=1.0, model="n:n", met_by_one_of_us=1
    )
    assert kpis.plan == PlanKpis(
        objectives=3,
        objectives_done=1,
        objectives_late=1,
        actions=3,
        actions_done=1,
        actions_late=1,
        reviews_on_time=0.5,
        conflicts_caught=3,
        conflicts_dismissed=1,
        conflict_days_open_median=6.5,
        conflicts_open=1,  # the price risk
    )
    results = kpis.results
    assert results is not None
    assert (results.year, results.revenue, results.potential, results.share_of_wallet) == (2025, 800_000, 2e6, 0.4)
    assert results.potential_exploited == pytest.approx(0.4)
    assert results.revenue_target == pytest.approx(1_200_000)


async def test_an_account_with_nothing_logged_has_no_figures_rather_than_zeros(world: World) -> None:
    async with world.db.transaction() as session:
        kpis = (await kpis_for(session, [world.fabrikam], TODAY))[world.fabrikam]
        assert await kpis_for(session, [9999], TODAY) == {}, "an id that is no account has no figures"
        assert await kpis_for(session, [], TODAY) == {}

    assert kpis.flow == FlowKpis(None, None, None, None, {}, {})
    assert kpis.relationships == RelationshipKpis(None, None, None, 0)
    assert kpis.plan == PlanKpis(0, 0, 0, 0, 0, 0, None, 0, 0, None)
    assert kpis.results is not None and kpis.results.revenue is None and kpis.results.potential_exploited is None


async def test_figures_never_carry_what_a_confidential_contact_said(world: World) -> None:
    async with world.db.transaction() as session:
        kpis = await kpis_for(session, [world.contoso], TODAY)
        trend = await monthly_trend(session, [world.contoso], TODAY)

    assert SECRET not in repr(kpis) and SECRET not in repr(trend)
    assert kpis[world.contoso].flow.logged_by_member["Gus Gone"] == 1  # his confidential contact counts


async def test_a_member_sees_only_how_information_flows(world: World) -> None:
    async with world.db.transaction() as session:
        kpis = (await kpis_for(session, [world.contoso], TODAY))[world.contoso]

    flow_only = within_scope(kpis, KpiScope.FLOW)
    assert flow_only.flow == kpis.flow
    assert (flow_only.relationships, flow_only.plan, flow_only.results) == (None, None, None)
    assert within_scope(kpis, KpiScope.ALL) == kpis


async def test_the_monthly_trend_counts_what_was_logged_each_month(world: World) -> None:
    async with world.db.transaction() as session:
        trend = await monthly_trend(session, [world.contoso, world.fabrikam, 9999], TODAY, months=3)

    assert [(p.month, p.contacts, p.decisions, p.acknowledged_within_24h) for p in trend[world.contoso]] == [
        ("2026-04", 0, 0, None),
        ("2026-05", 1, 0, None),
        ("2026-06", 3, 1, 0.5),
    ]
    assert [p.contacts for p in trend[world.fabrikam]] == [0, 0, 0]
    assert 9999 not in trend


async def test_the_number_of_statements_does_not_grow_with_the_accounts(world: World) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(world.db.engine.sync_engine, "before_cursor_execute", count)
    async with world.db.transaction() as session:
        await kpis_for(session, [world.contoso], TODAY)
        one = len(statements)
        statements.clear()
        await kpis_for(session, [world.contoso, world.fabrikam], TODAY)
        both = len(statements)
        statements.clear()
        await monthly_trend(session, [world.contoso], TODAY)
        trend_one = len(statements)
        statements.clear()
        await monthly_trend(session, [world.contoso, world.fabrikam], TODAY)
        trend_both = len(statements)
    assert one == both > 0
    assert trend_one == trend_both > 0


def test_working_days_skip_the_weekend() -> None:
    friday = dt.date(2026, 5, 22)
    assert working_days_after(friday, dt.date(2026, 5, 26)) == 2  # Tuesday
    assert working_days_after(friday, dt.date(2026, 5, 27)) == 3  # Wednesday
    assert working_days_after(friday, dt.date(2026, 5, 24)) == 0  # Sunday
    assert working_days_after(friday, friday) == 0


def test_percentiles_interpolate_like_the_database() -> None:
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([2.0, 4.0, 10.0, 30.0], 0.5) == 7.0
    assert percentile([2.0, 4.0, 10.0, 30.0], 0.9) == pytest.approx(24.0)


def test_the_revenue_target_is_read_from_the_plan_when_it_states_one() -> None:
    assert revenue_target({"potential_targets": "Umsatzziel 2026: 1.500.000 EUR"}) == 1_500_000
    assert revenue_target({"potential_targets": "Revenue target 800k"}) == 800_000
    assert revenue_target({"potential_targets": "Grow with the customer"}) is None
    assert revenue_target({}) is None


async def test_a_cache_keeps_the_figures_of_complete_days_and_reads_the_plan_anew(world: World) -> None:
    cache = KpiCache()
    statements: list[str] = []
    event.listen(world.db.engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    async with world.db.transaction() as session:
        fresh = await kpis_for(session, [world.contoso, world.fabrikam], TODAY)
        await cache.warm(session, [world.contoso, world.fabrikam], TODAY)
        statements.clear()
        cached = await kpis_for(session, [world.contoso, world.fabrikam], TODAY, cache)
        warm = len(statements)
        assert cached == fresh
        # Today's work shows tomorrow in the figures of complete days, at once in the plan.
        contoso = await session.get(Account, world.contoso)
        assert contoso is not None
        seeder = Seeder(session)
        seeder.keys = 1000
        megan = contoso.members[0].person
        await seeder.contact(contoso, megan, at("2026-06-10", "08:00"), posted=at("2026-06-10", "08:01"))
        await seeder.add(PlanVersion(account_id=contoso.id, version=3, content={"items": []}, saved_by_id=megan.id))
        statements.clear()
        again = (await kpis_for(session, [world.contoso], TODAY, cache))[world.contoso]
        assert len(statements) == warm
        statements.clear()
        trend = await monthly_trend(session, [world.contoso], TODAY, cache=cache)
        assert statements == [], "the warm cache holds the trend"
        assert trend == await monthly_trend(session, [world.contoso], TODAY)
        uncached = (await kpis_for(session, [world.contoso], TODAY))[world.contoso]
    assert again == uncached
    assert again.flow == fresh[world.contoso].flow
    assert again.plan is not None and again.plan.objectives == 0


def test_a_review_closed_today_counts_and_periods_before_the_account_do_not() -> None:
    strategic = Tier.STRATEGIC_KEY_ACCOUNT
    created = dt.date(2025, 1, 1)
    assert reviews_on_time(strategic, created, [TODAY], TODAY) == 0.25
    assert reviews_on_time(strategic, created, [dt.date(2026, 3, 12)], TODAY) == 0.25  # the first day of the quarter
    assert reviews_on_time(strategic, created, [dt.date(2026, 3, 11)], TODAY) == 0.25  # the last day of the one before
    assert reviews_on_time(strategic, created, [dt.date(2025, 6, 11)], TODAY) == 0.0  # before the four quarters
    assert reviews_on_time(strategic, dt.date(2026, 1, 1), [TODAY], TODAY) == 1.0  # one whole quarter since created
    assert reviews_on_time(Tier.KEY_ACCOUNT, dt.date(2026, 1, 1), [TODAY], TODAY) is None  # no half year yet
