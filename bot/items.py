"""One item (contact, decision, price action) as a card, with its acknowledgements and findings.

The outbox, the Acknowledge button and the card refresh all render through here,
so the channel post, the 1:1 card and every refreshed view say the same thing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.tab_links import TabLinks
from cards.acknowledge import AckEntry, Attention, EndableAgreement, FlagView
from cards.build import Recipient
from cards.contact import channel_summary_card, contact_view
from cards.decision import channel_decision_card, decision_view
from cards.i18n import Texts
from cards.price_action import price_action_view, price_risk_card
from cards.review import ReviewLine, ReviewView, review_card
from kam.access import Act, Audience, Principal, Subject, is_allowed, may_see_details
from kam.accounts import managers_of
from kam.acknowledgements import acknowledgements_of
from kam.checks import CONFLICT_KINDS, Finding, flags_of
from kam.contacts import get_contact
from kam.decisions import get_decision
from kam.errors import ItemNotFound
from kam.models import Account, Acknowledgement, FlagKind, ItemKind, Person, Review, aware
from kam.people import teams_id
from kam.plans import may_edit_everything
from kam.price_actions import get_price_action
from kam.reviews import closed_by, get_review
from kam.subjects import contact_subject


def flag_view(finding: Finding) -> FlagView:
    flag = finding.flag
    return FlagView(
        flag_id=flag.id,
        kind=flag.kind,
        topic=flag.topic,
        owner=flag.owner.name,
        since=finding.agreed_on,
        is_open=flag.closed_at is None,
        related_owner=finding.other_owner,
        related_since=finding.other_agreed_on,
        related_topic=finding.other_topic,
        found_later=finding.found_later,
        topic_confidential=finding.topic_confidential,
        related_topic_confidential=finding.other_topic_confidential,
        why=flag.reason or {},
        other_account=finding.other_account,
        item_confidential=finding.item_confidential,
        dismissed_by=flag.dismissed_by.name if flag.dismissed_by is not None else "",
        dismissed_on=aware(flag.dismissed_at).date() if flag.dismissed_at else None,
        dismissed_reason=flag.dismissed_reason or "",
    )


def _mine(acks: list[Acknowledgement], viewer: Person | None) -> Acknowledgement | None:
    return next((a for a in acks if viewer is not None and a.person_id == viewer.id), None)


def _may_end(account: Account, findings: list[Finding], viewer: Person | None) -> tuple[EndableAgreement, ...]:
    """Open framework agreements on the card (its own, or one it clashes with) that the viewer may end."""
    if viewer is None:
        return ()
    managers = {p.id for p in managers_of(account)}
    agreements: dict[int, EndableAgreement] = {}
    for finding in findings:
        if finding.kind == FlagKind.FRAMEWORK_AGREEMENT:
            flag, agreed_on, hidden = finding.flag, finding.agreed_on, finding.topic_confidential
        elif finding.other_agreement is not None:
            flag, agreed_on, hidden = finding.other_agreement, finding.other_agreed_on, finding.other_topic_confidential
        else:
            continue
        if flag.closed_at is None and viewer.id in {flag.owner_id, *managers}:
            agreements.setdefault(flag.id, EndableAgreement(flag.id, flag.topic, agreed_on, hidden))
    return tuple(agreements.values())


def _may_dismiss(account: Account, findings: list[Finding], viewer: Person | None) -> tuple[int, ...]:
    """The conflicts on the card the access policy lets the viewer mark "not a conflict" (those it names)."""
    if viewer is None:
        return ()
    allowed = []
    for finding in findings:
        flag = finding.flag
        if flag.kind not in CONFLICT_KINDS or flag.dismissed_at is not None:
            continue
        owners = {flag.owner_id} | ({flag.related.owner_id} if flag.related is not None else set())
        if is_allowed(Principal(viewer), Act.DISMISS_CONFLICT, Subject(account=account, owner_ids=frozenset(owners))):
            allowed.append(flag.id)
    return tuple(allowed)


async def attention_for(
    session: AsyncSession, account: Account, item: tuple[ItemKind, int], viewer: Person | None, banner: str = ""
) -> tuple[Attention, list[Acknowledgement]]:
    acks = await acknowledgements_of(session, account.id, item)
    flags = await flags_of(session, account.id, item)
    return attention(account, item, viewer, acks, flags, banner), acks


def attention(
    account: Account,
    item: tuple[ItemKind, int],
    viewer: Person | None,
    acks: list[Acknowledgement],
    flags: list[Finding],
    banner: str = "",
) -> Attention:
    """Who was asked to know the item and who has, what the checks found, and what the viewer may do."""
    mine = _mine(acks, viewer)
    return Attention(
        item_kind=item[0],
        item_id=item[1],
        account_id=account.id,
        entries=[
            AckEntry(
                a.person.name,
                a.acknowledged_at.date() if a.acknowledged_at else None,
                a.required,
                unreachable=a.person.unreachable_since is not None,
            )
            for a in acks
        ],
        flags=[flag_view(f) for f in flags],
        refresh_user_ids=[teams_id(a.person) for a in acks if a.required and teams_id(a.person)],
        viewer_reasons=tuple(mine.reasons) if mine is not None and mine.required else (),
        viewer_acknowledged=mine.acknowledged_at.date() if mine is not None and mine.acknowledged_at else None,
        viewer_may_end=_may_end(account, flags, viewer),
        viewer_may_dismiss=_may_dismiss(account, flags, viewer),
        banner=banner,
    )


async def item_card(
    session: AsyncSession,
    t: Texts,
    account: Account,
    item: tuple[ItemKind, int],
    viewer: Person | None,
    *,
    audience: Audience,
    links: TabLinks,
    banner: str = "",
) -> dict[str, Any]:
    """The item's card: for a shared place (mentioning who must know; the channel post has no viewer),
    or for one person in a 1:1 chat.

    A confidential contact shows its details only where the access policy lets this viewer read them.
    `links`: to the tab that has what the card shows in part (a review's items, the Plan tab).
    """
    if item[0] == ItemKind.REVIEW:
        return await _review_card(session, t, account, item[1], viewer, banner, links.to(account, "plan"))
    shared = audience == Audience.SHARED
    attention, acks = await attention_for(session, account, item, viewer, banner)
    must_know = [Recipient(teams_id(a.person), a.person.name) for a in acks if a.required] if shared else []
    kind, item_id = item
    if kind == ItemKind.CONTACT:
        contact = await get_contact(session, item_id)
        if contact is None or contact.account_id != account.id:
            raise ItemNotFound()
        visible = may_see_details(Principal(viewer), await contact_subject(session, contact), audience)
        return channel_summary_card(
            t, contact_view(contact), must_know, attention, shown_to_channel=shared, hide_details=not visible
        )
    if kind == ItemKind.DECISION:
        decision = await get_decision(session, item_id)
        if decision is None or decision.account_id != account.id:
            raise ItemNotFound()
        return channel_decision_card(t, decision_view(decision), must_know, attention, shown_to_channel=shared)
    action = await get_price_action(session, item_id)
    if action is None or not any(f.kind == FlagKind.PRICE_RISK for f in await flags_of(session, account.id, item)):
        raise ItemNotFound()
    return price_risk_card(t, account.name, price_action_view(action), attention, shown_to_channel=shared)


def review_view(
    review: Review, account: Account, acks: list[Acknowledgement], closer: Person | None = None
) -> ReviewView:
    return ReviewView(
        review_id=review.id,
        account_id=account.id,
        account_name=account.name,
        started_by=review.started_by.name,
        due_on=review.due_on,
        closed=review.closed_at is not None,
        lines=[
            ReviewLine(
                u.item_id,
                u.title,
                u.owner.name,
                u.owner_id,
                u.status,
                u.progress,
                u.comment,
                u.needs_decision,
                u.updated_at is not None,
            )
            for u in review.updates
        ],
        owners_done=[a.person.name for a in acks if a.required and a.acknowledged_at],
        owners_waiting=[a.person.name for a in acks if a.required and not a.acknowledged_at],
        closed_by=closer.name if closer else "",
        closed_on=review.closed_at.date() if review.closed_at else None,
    )


async def _review_card(
    session: AsyncSession,
    t: Texts,
    account: Account,
    review_id: int,
    viewer: Person | None,
    banner: str,
    plan_url: str | None,
) -> dict[str, Any]:
    review = await get_review(session, review_id)
    if review is None or review.account_id != account.id:
        raise ItemNotFound()
    acks = await acknowledgements_of(session, account.id, (ItemKind.REVIEW, review.id))
    people = {a.person.id: a.person for a in acks if a.required} | {p.id: p for p in managers_of(account)}
    return review_card(
        t,
        review_view(review, account, acks, await closed_by(session, review)),
        viewer_id=viewer.id if viewer else None,
        viewer_is_manager=may_edit_everything(account, viewer),
        refresh_user_ids=[teams_id(p) for p in people.values() if teams_id(p)],
        banner=banner,
        plan_url=plan_url,
    )
