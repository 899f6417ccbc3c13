"""The key account list review: kambot proposes, the KA managers comment, the head of KAM decides.

KAM.md: the list is reviewed often, by criteria beyond revenue. A review starts from the scores
(kam.selection): an active account scoring below the lowest tier threshold is proposed to leave the
list, one whose score earns another tier a tier change; an open candidate scoring at or above the
lowest threshold is proposed to enter at the tier its score earns. Each proposal keeps the scores
and the figures behind it (`why`: the KPIs that matter, kam.kpis). Accounts without a score are
left as they are: the review says nothing of what nobody has judged.

The KA managers of each account on a proposal get a card to comment on it; the head of KAM decides
each proposal on one card. Decisions change the account list at once: a tier change is the
account's new tier (a plan's depth follows the tier), an exit deactivates the account (the next
provisioning run archives its channel), an entry creates the account with the KA manager named (the
next run gives it a channel) and marks the candidate entered. The review keeps every proposal,
comment and decision.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from kam.account_list import EMAIL, people_by_upn
from kam.accounts import managers_of
from kam.errors import AccountExists, KamError, Refused
from kam.kpis import AccountKpis, kpis_for
from kam.models import (
    Account,
    AccountMember,
    Candidate,
    ListReview,
    ListReviewProposal,
    OutboxMessage,
    Person,
    Role,
    Tier,
    aware,
    utcnow,
)
from kam.outbox import OutboxKind
from kam.selection import Selection
from kam.text import clean_text

ENTER, EXIT, TIER = "enter", "exit", "tier"
ACCEPTED, REJECTED = "accepted", "rejected"
COMMENT_MAX = 1000
COMMENT_DAYS = 14  # the KA managers' time to comment
# The figures a proposal keeps beside its score (kam.kpis' names): what the head of KAM weighs besides it.
FIGURES = ("acknowledged_within_24h", "decision_makers_met_90d", "actions_late", "revenue")

Figures = Mapping[int, Mapping[str, float | None]]  # account id -> figure -> value


class ListReviewRunning(KamError):
    """A list review is open: the head of KAM decides it before starting another."""

    code = "listreview.error.running"


class AlreadyDecided(KamError):
    code = "listreview.error.decided"


class EntryNeedsManager(KamError):
    """An entry accepted without a usable e-mail address of its KA manager."""

    code = "listreview.error.manager"


def key_figures(kpis: AccountKpis) -> dict[str, float | None]:
    """The figures a proposal keeps, and the monthly card shows: how information flows, whether the decision
    makers are met, how the plan goes, what the account brings."""
    return {
        "acknowledged_within_24h": kpis.flow.acknowledged_within_24h,
        "decision_makers_met_90d": kpis.relationships.decision_makers_met_90d if kpis.relationships else None,
        "actions_late": float(kpis.plan.actions_late) if kpis.plan else None,
        "revenue": kpis.results.revenue if kpis.results else None,
    }


async def review_figures(session: AsyncSession, account_ids: Sequence[int], today: dt.date) -> Figures:
    """The key figures of every account, in the fixed number of statements kam.kpis takes."""
    return {account_id: key_figures(kpis) for account_id, kpis in (await kpis_for(session, account_ids, today)).items()}


@dataclass(frozen=True)
class Decision:
    accept: bool
    tier: Tier | None = None  # a tier change or entry: the tier decided (None: the one proposed)
    manager_email: str = ""  # an entry: its KA manager


async def open_list_review(session: AsyncSession) -> ListReview | None:
    query = select(ListReview).where(ListReview.decided_at.is_(None)).order_by(ListReview.id.desc()).limit(1)
    return await session.scalar(query)


async def last_list_review(session: AsyncSession) -> ListReview | None:
    return await session.scalar(select(ListReview).order_by(ListReview.started_at.desc()).limit(1))


def _proposal_for_account(selection: Selection, account: Account) -> tuple[str, Tier | None, float] | None:
    score = selection.score(account.scores)
    if score is None:
        return None
    tier = selection.tier_for(score)
    if tier is None:
        return EXIT, None, score
    if tier != account.tier:
        return TIER, tier, score
    return None


async def start_list_review(
    session: AsyncSession, selection: Selection, head: Person, today: dt.date, figures: Figures | None = None
) -> ListReview:
    """Propose from the scores; a card to each KA manager of an account with a proposal (access: the caller's)."""
    if await open_list_review(session) is not None:
        raise ListReviewRunning()
    review = ListReview(started_by_id=head.id, comments_by=today + dt.timedelta(days=COMMENT_DAYS))
    session.add(review)
    await session.flush()
    accounts = await session.scalars(
        select(Account)
        .where(Account.active.is_(True))
        .options(selectinload(Account.members).joinedload(AccountMember.person))
        .order_by(Account.name)
    )
    commenters: set[int] = set()
    for account in accounts:
        proposed = _proposal_for_account(selection, account)
        if proposed is None:
            continue
        kind, tier, score = proposed
        why: dict[str, Any] = {"scores": dict(account.scores or {}), "tier_now": account.tier.value}
        why.update({k: v for k, v in (figures or {}).get(account.id, {}).items() if k in FIGURES})
        session.add(
            ListReviewProposal(
                review_id=review.id, account_id=account.id, proposal=kind, tier=tier, score=score, why=why
            )
        )
        commenters.update(m.id for m in managers_of(account))
    candidates = await session.scalars(select(Candidate).where(Candidate.status == "open").order_by(Candidate.name))
    for candidate in candidates:
        candidate_score = selection.score(candidate.scores)
        tier = selection.tier_for(candidate_score) if candidate_score is not None else None
        if candidate_score is None or tier is None:
            continue
        why = {"scores": dict(candidate.scores), "kind": candidate.kind.value}
        session.add(
            ListReviewProposal(
                review_id=review.id,
                candidate_id=candidate.id,
                proposal=ENTER,
                tier=tier,
                score=candidate_score,
                why=why,
            )
        )
    for person_id in sorted(commenters):
        session.add(
            OutboxMessage(kind=OutboxKind.LIST_REVIEW_COMMENT, subject_id=person_id, detail={"review": review.id})
        )
    await session.flush()
    await session.refresh(review, ["proposals"])
    return review


async def locked_proposal(session: AsyncSession, account_id: int, proposal_id: int) -> ListReviewProposal:
    """A proposal named with its account, of a review still open; Refused otherwise (naming nothing)."""
    proposal = await session.scalar(
        select(ListReviewProposal).where(ListReviewProposal.id == proposal_id).with_for_update()
    )
    if proposal is None or proposal.account_id != account_id:
        raise Refused()
    review = await session.get(ListReview, proposal.review_id)
    if review is None or review.decided_at is not None:
        raise Refused()
    return proposal


async def locked_review(session: AsyncSession, review_id: int) -> ListReview:
    review = await session.scalar(select(ListReview).where(ListReview.id == review_id).with_for_update())
    if review is None:
        raise Refused()
    return review


def comment_on(proposal: ListReviewProposal, person: Person, text: str) -> None:
    """The KA manager's comment (access: the caller's, Act.COMMENT_LIST_REVIEW); a later one replaces it."""
    if proposal.decision is not None:
        raise AlreadyDecided()
    proposal.comment = clean_text(text)[:COMMENT_MAX] or None
    proposal.commented_by_id = person.id
    proposal.commented_at = utcnow()


def valid_email(text: str) -> str | None:
    email = text.strip().lower()
    return email if EMAIL.match(email) else None


@dataclass(frozen=True)
class Decided:
    accepted: int
    rejected: int
    entered: tuple[str, ...]  # the new accounts' names
    left: tuple[str, ...]  # the accounts that left the list
    retiered: tuple[str, ...]
    finished: bool  # every proposal decided: the review is closed


async def decide(session: AsyncSession, review: ListReview, head: Person, decisions: Mapping[int, Decision]) -> Decided:
    """Apply the head of KAM's decisions on the proposals named (others of the review are left for later; a proposal
    decided already is AlreadyDecided). Nothing is applied when one decision cannot be (all or nothing)."""
    if review.decided_at is not None:
        raise AlreadyDecided()
    proposals = {p.id: p for p in review.proposals}
    if any(pid not in proposals for pid in decisions):
        raise Refused()
    if any(proposals[pid].decision is not None for pid in decisions):
        raise AlreadyDecided()
    # Every entry checked before anything changes: a decision that cannot be applied leaves all as it was.
    for pid, decision in sorted(decisions.items()):
        if decision.accept and proposals[pid].proposal == ENTER:
            await _check_entry(session, proposals[pid], decision.manager_email)
    entered: list[str] = []
    left: list[str] = []
    retiered: list[str] = []
    for pid, decision in sorted(decisions.items()):
        proposal = proposals[pid]
        proposal.decision = ACCEPTED if decision.accept else REJECTED
        if not decision.accept:
            continue
        tier = decision.tier or proposal.tier
        if proposal.proposal == EXIT and proposal.account_id is not None:
            account = await session.get(Account, proposal.account_id)
            if account is not None:
                account.active = False
                left.append(account.name)
        elif proposal.proposal == TIER and proposal.account_id is not None and tier is not None:
            account = await session.get(Account, proposal.account_id)
            if account is not None:
                account.tier = tier
                proposal.decided_tier = tier
                retiered.append(account.name)
        elif proposal.proposal == ENTER and proposal.candidate_id is not None and tier is not None:
            entered.append(await _enter(session, proposal, tier, decision.manager_email))
    finished = all(p.decision is not None for p in review.proposals)
    if finished:
        review.decided_at = utcnow()
        review.decided_by_id = head.id
    await session.flush()
    accepted = sum(1 for d in decisions.values() if d.accept)
    return Decided(accepted, len(decisions) - accepted, tuple(entered), tuple(left), tuple(retiered), finished)


async def _check_entry(
    session: AsyncSession, proposal: ListReviewProposal, manager_email: str
) -> tuple[Candidate, str]:
    """The candidate of an entry, still open and named like no account, and its KA manager's e-mail; else
    Refused, AccountExists or EntryNeedsManager."""
    candidate = await session.get(Candidate, proposal.candidate_id)
    if candidate is None or candidate.status != "open":
        raise Refused()
    email = valid_email(manager_email)
    if email is None:
        raise EntryNeedsManager()
    if await session.scalar(select(Account.id).where(func.lower(Account.name) == candidate.name.lower())):
        raise AccountExists()
    return candidate, email


async def _enter(session: AsyncSession, proposal: ListReviewProposal, tier: Tier, manager_email: str) -> str:
    candidate, email = await _check_entry(session, proposal, manager_email)
    manager = (await people_by_upn(session, [email]))[email]
    session.add(
        Account(
            name=candidate.name,
            tier=tier,
            scores=dict(candidate.scores),
            members=[AccountMember(person=manager, role=Role.MANAGER)],
        )
    )
    candidate.status = "entered"
    proposal.decided_tier = tier
    return candidate.name


def list_review_due(last: ListReview | None, every_days: int, first_day: dt.date) -> dt.date:
    """When the next review is due: `every_days` after the last one started (or after `first_day`)."""
    since = aware(last.started_at).date() if last is not None else first_day
    return since + dt.timedelta(days=every_days)


async def schedule_list_review_due(session: AsyncSession, heads: Sequence[str], every_days: int, today: dt.date) -> int:
    """A card to each head of KAM once when a list review is due by the cadence (no review open).

    The heads' rows are locked first: of several instances, one queues the card, the others find it queued.
    """
    if not heads:
        return 0
    people = list(
        await session.scalars(
            select(Person).where(Person.aad_object_id.in_(list(heads))).order_by(Person.id).with_for_update()
        )
    )
    if not people or await open_list_review(session) is not None:
        return 0
    last = await last_list_review(session)
    first = await session.scalar(select(func.min(Account.created_at)))
    if first is None:
        return 0
    due = list_review_due(last, every_days, aware(first).date())
    if due > today:
        return 0
    queued = 0
    for person in people:
        sent = await session.scalars(
            select(OutboxMessage.detail).where(
                OutboxMessage.kind == OutboxKind.LIST_REVIEW_DUE, OutboxMessage.subject_id == person.id
            )
        )
        if any((detail or {}).get("due") == due.isoformat() for detail in sent):
            continue
        last_on = aware(last.started_at).date().isoformat() if last is not None else None
        detail: dict[str, Any] = {"due": due.isoformat(), "last": last_on}
        session.add(OutboxMessage(kind=OutboxKind.LIST_REVIEW_DUE, subject_id=person.id, detail=detail))
        queued += 1
    return queued
