"""What a card action or command is about, once the router has looked it up and the policy allowed it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from cards.errors import MalformedSubmission
from cards.forms import CardMeta
from kam.access import Place, Principal, Subject
from kam.models import Account, ItemKind, Person
from kam.subjects import (
    Found,
    account_subject,
    agreement_subject,
    conflict_subject,
    item_subject,
    list_review_subject,
    nudge_subject,
    proposal_subject,
    review_subject,
    stakeholder_subject,
    tie_subject,
)
from kam.text import plain_number

_ID = Field(ge=1, lt=2**31)


@dataclass(frozen=True)
class VerbRequest:
    """A card action the policy allowed: its data, who clicked, where, and what it is about (looked up)."""

    session: AsyncSession
    value: Mapping[str, Any]
    meta: CardMeta
    principal: Principal
    place: Place
    found: Found

    @property
    def person(self) -> Person | None:
        return self.principal.person

    @property
    def subject(self) -> Subject:
        return self.found.subject

    @property
    def account(self) -> Account | None:
        return self.found.subject.account

    @property
    def row(self) -> Any:
        return self.found.row


@dataclass(frozen=True)
class CommandRequest:
    """A command the policy allowed; `accounts`: those it may be about (the channel's, or the caller's)."""

    principal: Principal
    accounts: Sequence[Account] = ()

    @property
    def person(self) -> Person | None:
        return self.principal.person


SubjectOf = Callable[[AsyncSession, Mapping[str, Any]], Awaitable[Found]]


def _read(model: type[BaseModel], value: Mapping[str, Any]) -> Any:
    try:
        return model.model_validate(dict(value))
    except ValidationError:
        raise MalformedSubmission() from None


def account_id_of(value: Mapping[str, Any]) -> int | None:
    """The account a card names (sealed in its data) or the one picked on it (an input: a string)."""
    raw = value.get("account_id")
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 0 < raw < 2**31 else None
    return plain_number(raw.strip()) if isinstance(raw, str) else None


async def no_subject(session: AsyncSession, value: Mapping[str, Any]) -> Found:
    """About no one account (a price action, a new account): the policy looks at the caller alone."""
    return Found(Subject())


async def named_account(session: AsyncSession, value: Mapping[str, Any]) -> Found:
    account_id = account_id_of(value)
    if account_id is None:
        raise MalformedSubmission()
    return Found(await account_subject(session, account_id))


async def picked_account(session: AsyncSession, value: Mapping[str, Any]) -> Found:
    """A picker: nothing chosen yet is no error (the picker asks again); a choice is checked like any id."""
    account_id = account_id_of(value)
    if account_id is None:
        return Found(Subject())
    return Found(await account_subject(session, account_id))


class _AccountRef(BaseModel):
    """A card's ids: always the account, and what of it the action is about."""

    account_id: int = _ID


class _ItemRef(_AccountRef):
    item_kind: ItemKind
    item_id: int = _ID


async def named_item(session: AsyncSession, value: Mapping[str, Any]) -> Found:
    ref: _ItemRef = _read(_ItemRef, value)
    return await item_subject(session, ref.account_id, ref.item_kind, ref.item_id)


def item_of(value: Mapping[str, Any]) -> tuple[ItemKind, int] | None:
    """The item a card is about, where its data names one besides what the action is about."""
    try:
        ref = _ItemRef.model_validate(dict(value))
    except ValidationError:
        return None
    return ref.item_kind, ref.item_id


class _AgreementRef(_AccountRef):
    flag_id: int = _ID


class _ReviewRef(_AccountRef):
    review_id: int = _ID


async def named_agreement(session: AsyncSession, value: Mapping[str, Any]) -> Found:
    ref: _AgreementRef = _read(_AgreementRef, value)
    return await agreement_subject(session, ref.account_id, ref.flag_id)


async def named_conflict(session: AsyncSession, value: Mapping[str, Any]) -> Found:
    ref: _AgreementRef = _read(_AgreementRef, value)
    return await conflict_subject(session, ref.account_id, ref.flag_id)


async def named_review(session: AsyncSession, value: Mapping[str, Any]) -> Found:
    ref: _ReviewRef = _read(_ReviewRef, value)
    return await review_subject(session, ref.account_id, ref.review_id)


class _NudgeRef(BaseModel):
    nudge_id: int = _ID


async def named_nudge(session: AsyncSession, value: Mapping[str, Any]) -> Found:
    ref: _NudgeRef = _read(_NudgeRef, value)
    return await nudge_subject(session, ref.nudge_id)


class _ProposalRef(_AccountRef):
    proposal_id: int = _ID


async def named_proposal(session: AsyncSession, value: Mapping[str, Any]) -> Found:
    ref: _ProposalRef = _read(_ProposalRef, value)
    return await proposal_subject(session, ref.account_id, ref.proposal_id)


class _ListReviewRef(BaseModel):
    review_id: int = _ID


async def named_list_review(session: AsyncSession, value: Mapping[str, Any]) -> Found:
    ref: _ListReviewRef = _read(_ListReviewRef, value)
    return await list_review_subject(session, ref.review_id)


class _StakeholderRef(_AccountRef):
    stakeholder_id: int = _ID


async def named_stakeholder(session: AsyncSession, value: Mapping[str, Any]) -> Found:
    ref: _StakeholderRef = _read(_StakeholderRef, value)
    return await stakeholder_subject(session, ref.account_id, ref.stakeholder_id)


async def named_tie(session: AsyncSession, value: Mapping[str, Any]) -> Found:
    """A customer person and whose relationship with them (the card's `person` input: a claim, checked too)."""
    ref: _StakeholderRef = _read(_StakeholderRef, value)
    person = value.get("person")
    person_id = plain_number(person.strip()) if isinstance(person, str) else None
    if person_id is None or not 0 < person_id < 2**31:
        raise MalformedSubmission()
    return await tie_subject(session, ref.account_id, ref.stakeholder_id, person_id)
