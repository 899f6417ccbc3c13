"""Scores on the selection criteria (kam.selection): an account's, kept with it, and a candidate's.

Candidates are customers scored before they are on the key account list: future key accounts,
acquisition and win-back targets (KAM.md). The list review proposes those whose score earns a
tier (kam.list_reviews). Access is the caller's: Act.MANAGE for an account's scores (its KA
managers), and the head of KAM besides; Act.RECORD_CANDIDATE for candidates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.errors import KamError
from kam.models import Account, Candidate, CandidateKind, Person
from kam.text import clean_text, one_line

NAME_MAX = 200
NOTES_MAX = 2000


class CandidateExists(KamError):
    """A candidate or key account of that name exists already."""

    code = "candidate.error.exists"


@dataclass(frozen=True)
class NewCandidate:
    name: str
    kind: CandidateKind
    notes: str
    scores: Mapping[str, float]


def set_account_scores(account: Account, scores: Mapping[str, float]) -> None:
    """The account's scores as given: a criterion left empty is no longer scored."""
    account.scores = dict(scores)


async def record_candidate(session: AsyncSession, new: NewCandidate, person: Person) -> Candidate:
    """Record a candidate. Only candidates' names are compared here: whether an account of that name exists (a
    confidential one, an inactive one to win back) is not said to whoever records it; the head of KAM hears it
    when deciding the entry (kam.list_reviews, AccountExists)."""
    name = one_line(new.name)[:NAME_MAX]
    taken = await session.scalar(select(Candidate.id).where(func.lower(Candidate.name) == name.lower()))
    if taken is not None:
        raise CandidateExists()
    candidate = Candidate(
        name=name,
        kind=new.kind,
        notes=clean_text(new.notes)[:NOTES_MAX],
        scores=dict(new.scores),
        proposed_by_id=person.id,
    )
    session.add(candidate)
    await session.flush()
    return candidate
