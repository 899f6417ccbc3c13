"""What an activity feed notification says and where it leads, read from the outbox row of the 1:1 card it
points to (its FEED_NOTIFICATION row's subject).

It goes to the person's feed in the scope of the team that holds their account's channel, and leads to
their 1:1 chat with kambot, where the card is. None when nothing is owed any more (acknowledged, the review
closed) or Teams would refuse it: the person is not reachable in that team, or has no Entra id yet.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox.address import AddressBook, Feed
from bot.tab_links import TabLinks
from cards.feed import (
    FeedText,
    acknowledge_batch_text,
    acknowledge_text,
    members_missing_text,
    not_delivered_text,
    review_text,
)
from cards.i18n import Texts
from graph.activity_feed import DEEP_LINK_MAX, ActivityNotification
from kam.acknowledgements import carried, get_acknowledgement, person_of_card, requests_on_card
from kam.models import Account, ItemKind, OutboxMessage, Person
from kam.outbox import OutboxKind
from kam.reviews import get_review


async def _acknowledgement(
    session: AsyncSession, row: OutboxMessage, language: str
) -> tuple[Person, Account, FeedText] | None:
    ack = await get_acknowledgement(session, row.subject_id)
    account = await session.get(Account, ack.account_id) if ack is not None else None
    if ack is None or account is None or ack.acknowledged_at is not None:
        return None
    t = Texts(ack.person.locale or language)
    reminder = row.kind == OutboxKind.ACK_REMINDER
    if ack.item_kind != ItemKind.REVIEW:
        reasons = () if account.confidential else ack.reasons
        text = acknowledge_text(t, shown_name(t, account), ack.item_kind, reasons, reminder=reminder)
        return ack.person, account, text
    review = await get_review(session, ack.item_id)
    if review is None or review.closed_at is not None:
        return None
    return ack.person, account, review_text(t, shown_name(t, account), review.due_on, reminder=reminder)


async def _requests(
    session: AsyncSession, row: OutboxMessage, language: str
) -> tuple[Person, Account, FeedText] | None:
    """A card carrying requests (kam.acknowledgements.gather_requests): one notification for all it still asks."""
    person = await person_of_card(session, row)
    if person is None:
        return None
    still_open = [(a, ack) for a, ack in await requests_on_card(session, row.id, person) if ack.acknowledged_at is None]
    if not still_open:
        return None
    account, ack = still_open[0]
    t = Texts(person.locale or language)
    if len(still_open) == 1:
        reasons = () if account.confidential else ack.reasons
        return person, account, acknowledge_text(t, shown_name(t, account), ack.item_kind, reasons, reminder=False)
    accounts = list({a.id: a for a, _ in still_open}.values())
    in_a_team = next((a for a in accounts if a.team_id), account)  # the notification goes in the scope of a team
    names = [shown_name(t, a) for a in [in_a_team, *(a for a in accounts if a is not in_a_team)]]
    return person, in_a_team, acknowledge_batch_text(t, names, len(still_open))


async def _report(session: AsyncSession, row: OutboxMessage, language: str) -> tuple[Person, Account, FeedText] | None:
    person = await session.get(Person, row.subject_id)
    account = await session.get(Account, row.account_id) if row.account_id is not None else None
    if person is None or account is None:
        return None
    t = Texts(person.locale or language)
    if row.kind == OutboxKind.DELIVERY_FAILED:
        return person, account, not_delivered_text(t, shown_name(t, account))
    people = len((row.detail or {}).get("people", []))
    return person, account, members_missing_text(t, shown_name(t, account), people)


def shown_name(t: Texts, account: Account) -> str:
    """A confidential account is not named where others may read along: a feed banner shows on screens and
    on phones' lock screens (kam.access.nameable's rule), so it says only that it is a confidential one."""
    return t("feed.confidential_account") if account.confidential else account.name


async def notification_about(
    session: AsyncSession,
    card_row: OutboxMessage,
    language: str,
    links: TabLinks,
    addresses: AddressBook,
    admins: Sequence[str] = (),
) -> tuple[Feed, ActivityNotification] | None:
    if card_row.kind == OutboxKind.ACK_REQUEST and carried(card_row) is not None:
        found = await _requests(session, card_row, language)
    elif card_row.kind in (OutboxKind.ACK_REQUEST, OutboxKind.ACK_REMINDER):
        found = await _acknowledgement(session, card_row, language)
    elif card_row.kind in (OutboxKind.DELIVERY_FAILED, OutboxKind.MEMBERS_MISSING):
        found = await _report(session, card_row, language)
    else:
        return None
    if found is None:
        return None
    person, account, text = found
    if person.unreachable_since is not None or not person.aad_object_id or not account.team_id:
        return None
    if all(m.person_id != person.id for m in account.members) and person.aad_object_id not in admins:
        return None  # no longer on the account team: told nothing more about it
    link = links.to_chat(addresses.tenant_of(person))
    if link is None or len(link) > DEEP_LINK_MAX:
        return None
    notification = ActivityNotification(
        person.aad_object_id, text.activity_type, text.topic, link, text.preview, text.parameters
    )
    return Feed(account.team_id, person.aad_object_id), notification
