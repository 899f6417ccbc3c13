"""Logging a decision about a key account, so the whole team speaks about it with one voice."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.accounts import get_account, managers_of, require_team_member
from kam.acknowledgements import MustKnow, ask_to_acknowledge, rule_reasons
from kam.catalogue import Catalogue
from kam.checks import Logged, concession_given, framework_agreement_opened, framework_decision_words, gives_away
from kam.errors import DuplicateSubmission, InvalidReference, UnknownPerson
from kam.models import Account, Decision, DecisionCategory, ItemKind, OutboxMessage, Person
from kam.outbox import OutboxKind
from kam.rules import Rules, may_decide
from kam.storage import add_once

TITLE_MAX = 200
TEXT_MAX = 2000
NAME_MAX = 200
SCOPE_MAX = 500


@dataclass(frozen=True)
class LogDecision:
    account_id: int
    author: Person | None
    idempotency_key: str
    title: str
    category: DecisionCategory
    decision: str
    decided_by: str
    effective_on: dt.date
    rationale: str = ""
    scope: str = ""
    communicator_id: int | None = None
    communicate_by: dt.date | None = None
    # Given free of charge (also found from words like "free of charge", "kostenlos"); the catalogue's service
    # given away, if picked (that ticks it too).
    concession: bool = False
    concession_service: str | None = None
    framework_agreement: bool = False


async def find_decision_by_key(session: AsyncSession, idempotency_key: str) -> Decision | None:
    return await session.scalar(select(Decision).where(Decision.idempotency_key == idempotency_key))


async def log_decision(
    session: AsyncSession, command: LogDecision, rules: Rules | None = None, catalogue: Catalogue | None = None
) -> Decision:
    """Store the decision and, in the same transaction, its channel post and the acknowledgements it implies.

    A decision the rules do not let its author take is stored all the same, marked as needing
    the KA manager's confirmation.

    Raises Refused (no such account, or not on its team), InvalidReference, DuplicateSubmission.
    """
    if command.author is None:
        raise UnknownPerson()
    account = await get_account(session, command.account_id)
    require_team_member(account, command.author)
    if await find_decision_by_key(session, command.idempotency_key) is not None:
        raise DuplicateSubmission()
    if command.communicator_id is not None and command.communicator_id not in {m.person_id for m in account.members}:
        raise InvalidReference()
    decision = Decision(
        account_id=account.id,
        logged_by_id=command.author.id,
        idempotency_key=command.idempotency_key,
        title=command.title,
        category=command.category,
        decision=command.decision,
        rationale=command.rationale,
        decided_by=command.decided_by,
        effective_on=command.effective_on,
        scope=command.scope,
        communicator_id=command.communicator_id,
        communicate_by=command.communicate_by,
        needs_confirmation=not may_decide(rules or Rules(), account, command.author, command.category),
    )
    await add_once(session, decision)
    await _inform(session, rules or Rules(), catalogue or Catalogue(), account, decision, command, command.author)
    return decision


async def _inform(
    session: AsyncSession,
    rules: Rules,
    catalogue: Catalogue,
    account: Account,
    decision: Decision,
    command: LogDecision,
    author: Person,
) -> None:
    abouts = [f"decision.{decision.category.value}", "decision"]
    must_know: list[MustKnow] = rule_reasons(rules, account, abouts)
    if decision.needs_confirmation:
        must_know += [MustKnow(p, "needs_confirmation") for p in managers_of(account)]
    logged = Logged(account, ItemKind.DECISION, decision.id, author)
    text = f"{decision.title}\n{decision.decision}"
    how = gives_away(text, ticked=command.concession, picked=command.concession_service)
    if how is not None:
        must_know += await concession_given(session, catalogue, logged, text, how, command.concession_service)
    words = framework_decision_words(decision.category, text)
    if command.framework_agreement or words:
        must_know += await framework_agreement_opened(session, logged, decision.title, words)
    post = OutboxMessage(kind=OutboxKind.DECISION_LOGGED, subject_id=decision.id, account_id=account.id)
    await ask_to_acknowledge(
        session,
        account,
        (ItemKind.DECISION, decision.id),
        author,
        must_know,
        rules.for_account(account),
        announce=[post],
    )


async def get_decision(session: AsyncSession, decision_id: int) -> Decision | None:
    return await session.get(Decision, decision_id)
