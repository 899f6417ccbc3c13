"""The words of an activity feed notification: its type, topic, preview and template values. No I/O.

A notification points to a 1:1 card that asks something of its person. It shows in the Teams feed and
as a banner, on screens and on phones' lock screens, so it carries none of what people wrote: the kind
of item, the account's name, and why the card came (the same reasons the card gives). The sentence
around the values is the activity type's template in the app manifest, which Teams shows in the
language of the client (`manifest.activity.*`, German in the package's de.json).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from cards.acknowledge import reasons_text
from cards.fit import shorten
from cards.i18n import Texts
from kam.models import ItemKind

PREVIEW_WIDTH = 150  # Teams shows no more of a preview

# Activity type -> the catalogue keys of its manifest entry (deploy/manifest/manifest.template.json).
ACTIVITY_TYPES = {
    "acknowledgeRequested": "manifest.activity.acknowledge",
    "acknowledgeReminder": "manifest.activity.acknowledge_reminder",
    "reviewRequested": "manifest.activity.review",
    "reviewReminder": "manifest.activity.review_reminder",
    "messageNotDelivered": "manifest.activity.not_delivered",
    "membersMissing": "manifest.activity.members_missing",
}


@dataclass(frozen=True)
class FeedText:
    activity_type: str
    topic: str
    preview: str
    parameters: tuple[tuple[str, str], ...]


def _text(activity_type: str, account_name: str, preview: str, **parameters: str) -> FeedText:
    assert activity_type in ACTIVITY_TYPES, activity_type
    values = (("account", account_name), *parameters.items())
    return FeedText(activity_type, account_name, shorten(preview, PREVIEW_WIDTH), values)


def acknowledge_text(
    t: Texts, account_name: str, item_kind: ItemKind, reasons: Sequence[str], *, reminder: bool
) -> FeedText:
    """An item to acknowledge (a contact, decision or price action), or the one reminder about it."""
    why = t("ack.why_you", reasons=reasons_text(t, reasons)) if reasons else ""
    preview = t("feed.reminder.preview" if reminder else "feed.ack.preview", why=why).strip()
    kind = "acknowledgeReminder" if reminder else "acknowledgeRequested"
    return _text(kind, account_name, preview, item=t(f"feed.item.{item_kind.value}"))


def acknowledge_batch_text(t: Texts, account_names: Sequence[str], count: int) -> FeedText:
    """Several items to acknowledge on one card, of one account or more (named as the feed may name them)."""
    shown, more = account_names[0], len(account_names) - 1
    account = t("feed.accounts", name=shown, count=more) if more else shown
    items = t("feed.items", count=count)
    return _text("acknowledgeRequested", account, t("feed.batch.preview"), item=items)


def review_text(t: Texts, account_name: str, due_on: dt.date, *, reminder: bool) -> FeedText:
    """A plan review that waits for the person's update to the items they own, or the reminder on its due date."""
    preview = t("feed.review_reminder.preview" if reminder else "feed.review.preview", due=due_on.isoformat())
    return _text("reviewReminder" if reminder else "reviewRequested", account_name, preview)


def not_delivered_text(t: Texts, account_name: str) -> FeedText:
    return _text("messageNotDelivered", account_name, t("feed.not_delivered.preview"))


def members_missing_text(t: Texts, account_name: str, count: int) -> FeedText:
    return _text("membersMissing", account_name, t("feed.members_missing.preview", count=count))
