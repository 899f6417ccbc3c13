"""The steering feature's edges found by an attacker's read: a list review's decisions apply all or nothing, a
candidate's form tells nothing about accounts, results left blank keep what is stored, and typing slips are no
amounts."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from kam.candidates import NewCandidate, record_candidate
from kam.errors import KamError
from kam.list_reviews import ENTER, EXIT, Decision, decide
from kam.models import (
    Account,
    Candidate,
    CandidateKind,
    ListReview,
    ListReviewProposal,
    Person,
    ResultFigures,
    Tier,
)
from kam.results import parse_amount, set_results
from tests.support.harness import RunningBot

CONTOSO, FABRIKAM = 1, 2


async def test_a_decision_that_cannot_be_applied_leaves_the_whole_review_as_it_was(bot: RunningBot) -> None:
    async with bot.db.transaction() as session:
        head = await session.scalar(select(Person).where(Person.name == "Isaiah Langer"))
        assert head is not None
        # A candidate named like an account that exists: its entry cannot be made.
        twin = Candidate(name="Contoso Pharma", kind=CandidateKind.WIN_BACK, notes="", scores={})
        review = ListReview(started_by_id=head.id, comments_by=dt.date.today())
        session.add_all([twin, review])
        await session.flush()
        leave = ListReviewProposal(review_id=review.id, account_id=FABRIKAM, proposal=EXIT, why={})
        enter = ListReviewProposal(
            review_id=review.id, candidate_id=twin.id, proposal=ENTER, tier=Tier.KEY_ACCOUNT, why={}
        )
        session.add_all([leave, enter])
        await session.flush()
        await session.refresh(review, ["proposals"])
        decisions = {leave.id: Decision(True), enter.id: Decision(True, manager_email="megan@contoso.test")}
        with pytest.raises(KamError):
            await decide(session, review, head, decisions)
        fabrikam = await session.get(Account, FABRIKAM)
        assert fabrikam is not None and fabrikam.active, "the exit decided beside it was not applied"
        assert leave.decision is None and enter.decision is None and review.decided_at is None


async def test_a_candidate_named_like_an_account_is_recorded_without_saying_so(bot: RunningBot) -> None:
    async with bot.db.transaction() as session:
        megan = await session.scalar(select(Person).where(Person.name == "Megan Bowen"))
        assert megan is not None
        new = NewCandidate("Fabrikam Logistics", CandidateKind.WIN_BACK, "", {})
        recorded = await record_candidate(session, new, megan)
        assert recorded.name == "Fabrikam Logistics"


async def test_results_left_blank_in_the_plan_tab_keep_what_is_stored(bot: RunningBot) -> None:
    async with bot.db.transaction() as session:
        megan = await session.scalar(select(Person).where(Person.name == "Megan Bowen"))
        contoso = await session.get(Account, CONTOSO)
        assert megan is not None and contoso is not None
        await set_results(session, contoso, megan, 2026, revenue=1e6, margin=0.2, potential=4e6, share_of_wallet=0.25)
        await set_results(
            session, contoso, megan, 2026, revenue=1.2e6, margin=None, potential=None, share_of_wallet=None
        )
        stored = await session.scalar(select(ResultFigures).where(ResultFigures.account_id == CONTOSO))
        assert stored is not None
        assert (stored.revenue, stored.margin, stored.potential, stored.share_of_wallet) == (1.2e6, 0.2, 4e6, 0.25)


@pytest.mark.parametrize("typed", ["9" * 400, "1e999", "nan", "inf"])
def test_typing_slips_are_no_amounts(typed: str) -> None:
    assert parse_amount(typed) is None


async def test_the_relationship_model_is_followed_month_by_month(bot: RunningBot) -> None:
    """Last month one of ours met two of theirs (1:n); the month before, two of ours met two of theirs (n:n)."""
    from kam.kpis import monthly_trend
    from kam.models import Contact, ContactKind, Stakeholder

    today = dt.date.today()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=10)
    before = (last_month.replace(day=1) - dt.timedelta(days=1)).replace(day=10)
    async with bot.db.transaction() as session:
        people = {p.name: p for p in await session.scalars(select(Person))}
        hanna, tom = list(await session.scalars(select(Stakeholder).where(Stakeholder.account_id == CONTOSO)))[:2]

        def contact(key: str, day: dt.date, by: str, met: list[Stakeholder], ours: list[str]) -> Contact:
            moment = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
            return Contact(
                account_id=CONTOSO,
                logged_by_id=people[by].id,
                idempotency_key=key,
                met_on=day,
                kind=ContactKind.MEETING,
                summary="s",
                created_at=moment,
                stakeholders=met,
                participants=[people[n] for n in ours],
            )

        session.add_all(
            [
                contact("m1", last_month, "Alex Wilber", [hanna, tom], []),
                contact("m2", before, "Alex Wilber", [hanna], ["Adele Vance"]),
                contact("m3", before, "Patti Fernandez", [tom], []),
            ]
        )
        await session.flush()
        trend = (await monthly_trend(session, [CONTOSO], today))[CONTOSO]
    by_month = {p.month: p.model for p in trend}
    assert by_month[last_month.strftime("%Y-%m")] == "1:n"
    assert by_month[before.strftime("%Y-%m")] == "n:n"
    assert by_month[today.strftime("%Y-%m")] is None
