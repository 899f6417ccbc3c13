"""From the ids a card or page names to what they are: looked up, checked to belong together.

A card's ids are claims. Each loader here finds the rows, checks that they belong to
the account named with them (an item of another account, a flag of the wrong kind, a
review of someone else's account is the same as none), and says what the access
policy needs to know (kam.access.Subject). Anything that does not fit is `Refused`,
the same answer as for an id that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kam.access import Subject
from kam.accounts import get_account
from kam.checks import CONFLICT_KINDS
from kam.errors import Refused
from kam.list_reviews import locked_proposal, locked_review
from kam.meetings import locked_nudge
from kam.models import (
    Account,
    Acknowledgement,
    Contact,
    Decision,
    Flag,
    FlagKind,
    ItemKind,
    PriceAction,
    Review,
)
from kam.stakeholders import stakeholder_of


@dataclass(frozen=True)
class Found:
    subject: Subject
    row: Any = None  # the item, flag, review or nudge found


async def account_subject(session: AsyncSession, account_id: int) -> Subject:
    return Subject(account=await get_account(session, account_id))


async def asked_ids(session: AsyncSession, account_id: int, item: tuple[ItemKind, int]) -> frozenset[int]:
    """Who the rules asked to acknowledge an item (they may read a confidential one)."""
    query = select(Acknowledgement.person_id).where(
        Acknowledgement.account_id == account_id,
        Acknowledgement.item_kind == item[0],
        Acknowledgement.item_id == item[1],
        Acknowledgement.required.is_(True),
    )
    return frozenset(await session.scalars(query))


async def contact_subject(session: AsyncSession, contact: Contact) -> Subject:
    """A contact's subject; for a confidential one also who may read its details."""
    insiders: frozenset[int] = frozenset()
    if contact.confidential:
        asked = await asked_ids(session, contact.account_id, (ItemKind.CONTACT, contact.id))
        insiders = frozenset({contact.logged_by_id, *(p.id for p in contact.participants), *asked})
    return Subject(
        account=contact.account,
        item_kind=ItemKind.CONTACT,
        confidential=contact.confidential,
        insider_ids=insiders,
    )


async def item_subject(session: AsyncSession, account_id: int, kind: ItemKind, item_id: int) -> Found:
    """A contact, decision, price risk or review named with its account."""
    account = await get_account(session, account_id)
    if kind == ItemKind.CONTACT:
        contact = await session.get(Contact, item_id)
        if contact is None or contact.account_id != account.id:
            raise Refused()
        return Found(await contact_subject(session, contact), contact)
    if kind == ItemKind.DECISION:
        decision = await session.get(Decision, item_id)
        if decision is None or decision.account_id != account.id:
            raise Refused()
        return Found(Subject(account=account, item_kind=kind), decision)
    if kind == ItemKind.PRICE_ACTION:
        action = await session.get(PriceAction, item_id)
        risk = await session.scalar(
            select(Flag.id).where(
                Flag.account_id == account.id,
                Flag.kind == FlagKind.PRICE_RISK,
                Flag.item_kind == ItemKind.PRICE_ACTION,
                Flag.item_id == item_id,
            )
        )
        if action is None or risk is None:
            raise Refused()
        return Found(Subject(account=account, item_kind=kind), action)
    review = await session.get(Review, item_id)
    if review is None or review.account_id != account.id:
        raise Refused()
    return Found(review_owners(account, review), review)


def review_owners(account: Account, review: Review) -> Subject:
    return Subject(account=account, item_kind=ItemKind.REVIEW, owner_ids=frozenset(u.owner_id for u in review.updates))


async def review_subject(session: AsyncSession, account_id: int, review_id: int) -> Found:
    return await item_subject(session, account_id, ItemKind.REVIEW, review_id)


async def agreement_subject(session: AsyncSession, account_id: int, flag_id: int) -> Found:
    """An open or ended framework agreement of the account: its owner may end it, as may the KA managers."""
    flag = await session.scalar(select(Flag).where(Flag.id == flag_id).with_for_update(of=Flag))
    if flag is None or flag.kind != FlagKind.FRAMEWORK_AGREEMENT or flag.account_id != account_id:
        raise Refused()
    account = await get_account(session, account_id)
    return Found(Subject(account=account, owner_ids=frozenset({flag.owner_id})), flag)


async def conflict_subject(session: AsyncSession, account_id: int, flag_id: int) -> Found:
    """A conflict a check found, named with one of the accounts it involves: its own, or (a clash across the
    customer group) the account of the earlier item. Those it names may mark it "not a conflict": the owners of
    both items, and the KA managers of the account named."""
    flag = await session.scalar(select(Flag).where(Flag.id == flag_id).with_for_update(of=Flag))
    if flag is None or flag.kind not in CONFLICT_KINDS:
        raise Refused()
    related = flag.related
    if account_id not in {flag.account_id, related.account_id if related is not None else None}:
        raise Refused()
    account = await get_account(session, account_id)
    owners = {flag.owner_id} | ({related.owner_id} if related is not None else set())
    return Found(Subject(account=account, owner_ids=frozenset(owners)), flag)


async def nudge_subject(session: AsyncSession, nudge_id: int) -> Found:
    """A meeting nudge: only the person it was sent to answers it."""
    nudge = await locked_nudge(session, nudge_id)
    if nudge is None:
        raise Refused()
    account = await get_account(session, nudge.account_id)
    return Found(Subject(account=account, owner_ids=frozenset({nudge.person_id})), nudge)


async def proposal_subject(session: AsyncSession, account_id: int, proposal_id: int) -> Found:
    """A list review's proposal about an account, named with that account, of a review still open: its KA managers
    comment on it."""
    proposal = await locked_proposal(session, account_id, proposal_id)
    return Found(Subject(account=await get_account(session, account_id)), proposal)


async def list_review_subject(session: AsyncSession, review_id: int) -> Found:
    """A list review: about no one account (the head of KAM decides it)."""
    return Found(Subject(), await locked_review(session, review_id))


async def stakeholder_subject(session: AsyncSession, account_id: int, stakeholder_id: int) -> Found:
    """A customer person named with their account (to edit them): anyone on its team."""
    account = await get_account(session, account_id)
    return Found(Subject(account=account), await stakeholder_of(session, account.id, stakeholder_id))


async def tie_subject(session: AsyncSession, account_id: int, stakeholder_id: int, person_id: int) -> Found:
    """One of our people's relationship with a customer person: the tie is theirs (they set its strength), as the
    KA managers may. Whether `person_id` is on the team is kam.stakeholders.set_strength's check."""
    found = await stakeholder_subject(session, account_id, stakeholder_id)
    return replace(found, subject=replace(found.subject, owner_ids=frozenset({person_id})))
