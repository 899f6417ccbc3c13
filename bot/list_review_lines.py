"""A list review's proposals as the cards show them: names of accounts and candidates, the figures kept, who
commented; read by the handlers and by the outbox's renderer of the KA managers' cards."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cards.list_review import ProposalLine
from kam.models import Account, AccountMember, Candidate, ListReview, ListReviewProposal, Person, Role, Tier


async def proposal_lines(
    session: AsyncSession, review: ListReview, manager: Person | None = None
) -> list[ProposalLine]:
    """The review's proposals as cards show them; with `manager`, only those about accounts they are KA manager of."""
    proposals: Sequence[ListReviewProposal] = review.proposals
    account_ids = {p.account_id for p in proposals if p.account_id is not None}
    accounts = (
        {a.id: a for a in await session.scalars(select(Account).where(Account.id.in_(account_ids)))}
        if account_ids
        else {}
    )
    candidate_ids = {p.candidate_id for p in proposals if p.candidate_id is not None}
    candidates = (
        {c.id: c.name for c in await session.scalars(select(Candidate).where(Candidate.id.in_(candidate_ids)))}
        if candidate_ids
        else {}
    )
    commenter_ids = {p.commented_by_id for p in proposals if p.commented_by_id is not None}
    commenters = (
        {p.id: p.name for p in await session.scalars(select(Person).where(Person.id.in_(commenter_ids)))}
        if commenter_ids
        else {}
    )
    managed: set[int] | None = None
    if manager is not None:
        rows = await session.scalars(
            select(AccountMember.account_id).where(
                AccountMember.person_id == manager.id, AccountMember.role == Role.MANAGER
            )
        )
        managed = set(rows)
    lines = []
    for p in proposals:
        if managed is not None and p.account_id not in managed:
            continue
        account = accounts.get(p.account_id) if p.account_id is not None else None
        name = account.name if account is not None else candidates.get(p.candidate_id or 0, "")
        tier_now = Tier(p.why["tier_now"]) if p.why.get("tier_now") in {t.value for t in Tier} else None
        figures = {k: v for k, v in p.why.items() if k not in ("scores", "tier_now", "kind")}
        lines.append(
            ProposalLine(
                proposal_id=p.id,
                account_id=p.account_id,
                name=name,
                proposal=p.proposal,
                tier_now=tier_now,
                tier=p.decided_tier or p.tier,
                score=p.score,
                figures=figures,
                comment=p.comment or "",
                commented_by=commenters.get(p.commented_by_id or 0, ""),
                decision=p.decision,
            )
        )
    return lines
