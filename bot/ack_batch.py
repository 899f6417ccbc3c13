"""The card that carries several requests to acknowledge to one person, from what it carried (its outbox row).

The outbox sends it, its buttons answer with it and its refresh shows it again, all through
here, so that they say the same thing. Each item is shown as its viewer may see it in this
place: a confidential contact's details only where the access policy lets them read them,
a confidential account's name not where others read along.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cards.ack_batch import BatchItem, ack_batch_card
from cards.i18n import Texts
from kam.access import Audience, Principal, may_see_details, nameable
from kam.acknowledgements import requests_on_card
from kam.contacts import get_contact
from kam.decisions import get_decision
from kam.models import Account, Acknowledgement, ItemKind, Person
from kam.people import teams_id
from kam.price_actions import get_price_action
from kam.subjects import contact_subject


async def _what(
    session: AsyncSession, t: Texts, account: Account, ack: Acknowledgement, viewer: Person, audience: Audience
) -> tuple[str, str, bool] | None:
    """(title, what it says, details hidden) of the item asked about; None when it no longer exists."""
    if ack.item_kind == ItemKind.CONTACT:
        contact = await get_contact(session, ack.item_id)
        if contact is None or contact.account_id != account.id:
            return None
        visible = may_see_details(Principal(viewer), await contact_subject(session, contact), audience)
        kind = t(f"kind.{contact.kind.value}")
        title = t("summary.line", kind=kind, date=contact.met_on.isoformat(), name=contact.logged_by.name)
        return title, contact.summary if visible else "", not visible
    if ack.item_kind == ItemKind.DECISION:
        decision = await get_decision(session, ack.item_id)
        if decision is None or decision.account_id != account.id:
            return None
        return decision.title, decision.decision, False
    action = await get_price_action(session, ack.item_id)
    return (action.title, action.description, False) if action is not None else None


async def batch_items(
    session: AsyncSession,
    t: Texts,
    requests: Sequence[tuple[Account, Acknowledgement]],
    viewer: Person,
    audience: Audience,
) -> list[BatchItem]:
    items = []
    for account, ack in requests:
        found = await _what(session, t, account, ack, viewer, audience)
        if found is None:
            continue
        title, detail, hidden = found
        name = account.name if nameable([account], audience) else t("feed.confidential_account")
        acknowledged_on = ack.acknowledged_at.date() if ack.acknowledged_at else None
        items.append(
            BatchItem(account.id, name, ack.item_kind, ack.item_id, title, detail, hidden, ack.reasons, acknowledged_on)
        )
    return items


async def batch_card(
    session: AsyncSession, t: Texts, card_row_id: int, viewer: Person | None, *, audience: Audience
) -> dict[str, Any]:
    """The card as `viewer` sees it now: what it asked of them (nothing, if it was not theirs)."""
    requests = await requests_on_card(session, card_row_id, viewer)
    items = await batch_items(session, t, requests, viewer, audience) if viewer is not None else []
    refresh_user_id = teams_id(viewer) if viewer is not None and items else None
    return ack_batch_card(t, card_row_id, items, refresh_user_id=refresh_user_id)
