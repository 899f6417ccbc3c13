"""One card that asks a person to acknowledge several items at once, each with its own Acknowledge button.

Requests that reach one person within minutes of each other come on this card instead of
one card each (kam.acknowledgements.gather_requests). Each item says which account it is
of, what it is and why the person must know it; the whole item is in its account's channel
(and on the single-item card, which a request alone still gets). A button answers with the
same card, showing what is left; its `refresh` shows the person the card as it is now.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from microsoft_teams.cards import ActionSet, CardElement, Container, ExecuteAction, RefreshDefinition, SubmitAction
from pydantic import BaseModel, Field, ValidationError

from cards.acknowledge import reasons_text
from cards.build import callout, card, heading, plain, static
from cards.errors import MalformedSubmission
from cards.fit import first, shorten
from cards.i18n import Texts
from kam.acknowledgements import BATCH_MAX
from kam.models import ItemKind

VERB_ACKNOWLEDGE_IN_BATCH = "ack.batch"
VERB_VIEW_BATCH = "ack.batch.view"
# What a card shows of each item: its title and a line of what it says, whole in the channel.
TITLE_WIDTH = 200
DETAIL_WIDTH = 200


@dataclass(frozen=True)
class BatchItem:
    """One item on the card, as its viewer may see it here."""

    account_id: int
    account: str  # the account's name, or words for "a confidential account" where others read along
    item_kind: ItemKind
    item_id: int
    title: str  # a decision's or price action's title, a contact's kind, date and author
    detail: str  # what it says (decision, summary, description), "" where not shown
    hidden: bool  # a confidential contact whose details are not for this place
    reasons: Sequence[str]
    acknowledged_on: dt.date | None = None


class _CardRef(BaseModel):
    batch: int = Field(ge=1, lt=2**31)


def read_batch_id(value: Mapping[str, Any]) -> int:
    """The card a batch button or refresh came from (the outbox row that sent it)."""
    try:
        return _CardRef.model_validate(dict(value)).batch
    except ValidationError:
        raise MalformedSubmission() from None


def _data(verb: str, batch_id: int, item: BatchItem | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"verb": verb, "batch": batch_id}
    if item is not None:
        data |= {"account_id": item.account_id, "item_kind": item.item_kind.value, "item_id": item.item_id}
    return data


def _item(t: Texts, batch_id: int, item: BatchItem) -> Container:
    kind = t(f"ack.batch.kind.{item.item_kind.value}")
    body: list[CardElement] = [
        plain(t("ack.batch.item", kind=kind, account=item.account), bold=True),
        plain(shorten(item.title, TITLE_WIDTH)),
    ]
    if item.hidden:
        body.append(callout(t("summary.confidential"), "warning", user_text=False))
    elif item.detail.strip():
        body.append(plain(shorten(item.detail, DETAIL_WIDTH), subtle=True))
    if item.reasons:
        body.append(static(t("ack.why_you", reasons=reasons_text(t, item.reasons))))
    if item.acknowledged_on is not None:
        body.append(callout(t("ack.you_did", date=item.acknowledged_on.isoformat()), "good", user_text=False))
    else:
        title, data = t("ack.button"), _data(VERB_ACKNOWLEDGE_IN_BATCH, batch_id, item)
        button = ExecuteAction(
            title=title,
            verb=VERB_ACKNOWLEDGE_IN_BATCH,
            data=data,
            style="positive",
            fallback=SubmitAction(title=title, data=data),
        )
        body.append(ActionSet(actions=[button]))
    return Container(separator=True, items=body)


def ack_batch_card(
    t: Texts, batch_id: int, items: Sequence[BatchItem], *, refresh_user_id: str | None = None
) -> dict[str, Any]:
    """The card of `batch_id` (the outbox row that sent it): its items, each acknowledged or with its button.

    `refresh_user_id`: the person it was sent to, whose Teams shows them the card as it is now.
    """
    title = t("ack.batch.title", count=len(items))
    body: list[CardElement] = [heading(title)]
    still_open = sum(1 for item in items if item.acknowledged_on is None)
    if not items:
        body.append(static(t("ack.batch.none")))
    elif still_open:
        body.append(static(t("ack.batch.left", left=still_open, total=len(items)), bold=True))
    else:
        body.append(callout(t("ack.batch.all_done"), "good", bold=True, user_text=False))
    shown, more = first(items, BATCH_MAX)
    body += [_item(t, batch_id, item) for item in shown]
    if more:
        body.append(static(t("ack.batch.more", count=more)))
    if items:
        body.append(static(t("ack.batch.whole"), subtle=True))
    refresh = None
    if refresh_user_id:
        action = ExecuteAction(title=t("ack.refresh"), verb=VERB_VIEW_BATCH, data=_data(VERB_VIEW_BATCH, batch_id))
        refresh = RefreshDefinition(action=action, user_ids=[refresh_user_id])
    return card(body, fallback_text=title, refresh=refresh)
