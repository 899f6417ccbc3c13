"""What an item asks of the team: who must acknowledge it, who has, and what the failure checks found.

The same section goes under the channel post, the 1:1 card, the reminder and the
report to the KA manager; a Universal Action `refresh` shows each person named
their own view (their Acknowledge button, or when they acknowledged).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from microsoft_teams.cards import (
    Action,
    AdaptiveCard,
    CardElement,
    ExecuteAction,
    RefreshDefinition,
    ShowCardAction,
    SubmitAction,
    TextInput,
)
from pydantic import BaseModel, Field, ValidationError

from cards.build import Recipient, callout, card, mention, mention_tag, plain, static
from cards.errors import MalformedSubmission
from cards.fit import NAME_WIDTH, first, names_text, shorten
from cards.i18n import Texts
from kam.checks import DISMISS_REASON_MAX
from kam.models import FlagKind, ItemKind

VERB_ACKNOWLEDGE = "ack"
VERB_VIEW = "ack.view"
VERB_END_AGREEMENT = "agreement.end"
VERB_DISMISS_CONFLICT = "conflict.dismiss"
REASON_INPUT = "dismiss_reason_{flag_id}"  # one per conflict on the card: each button sends its own
QUOTE_WIDTH = 40  # characters of the words a check matched, and of a service's name, quoted on the card
DISMISSED_WIDTH = 200  # characters of why a conflict is none, on the card (the Log tab has it whole)
COUNTRIES_SHOWN = 10
REFRESH_USERS_MAX = 60  # Teams refreshes a card automatically for at most 60 users
CONFLICTS = (FlagKind.FREE_AFTER_PAID, FlagKind.PARALLEL_FRAMEWORK, FlagKind.PRICE_RISK)
# What one card shows of lists that grow with the team and the account's history (cards/fit.py). Everyone
# beyond the mentions still gets the item in their 1:1 chat; the counts stay exact.
MENTIONS_SHOWN = 8
FLAGS_SHOWN = 2
ENDS_SHOWN = 2
AGREEMENT_WIDTH = 30  # characters of an agreement's topic on its button


class ItemRef(BaseModel):
    """The data of an Acknowledge, view or end button: which item of which account."""

    verb: str = Field(max_length=40)
    item_kind: ItemKind
    item_id: int = Field(ge=1, lt=2**31)
    account_id: int = Field(ge=1, lt=2**31)
    flag_id: int | None = Field(default=None, ge=1, lt=2**31)

    @property
    def item(self) -> tuple[ItemKind, int]:
        return self.item_kind, self.item_id


def read_item_ref(value: Mapping[str, Any]) -> ItemRef:
    try:
        return ItemRef.model_validate(dict(value))
    except ValidationError:
        raise MalformedSubmission() from None


@dataclass(frozen=True)
class AckEntry:
    name: str
    acknowledged_on: dt.date | None
    required: bool
    unreachable: bool = False  # Teams refused kambot a chat with them: asked, but not told


@dataclass(frozen=True)
class FlagView:
    """A finding; dates are when things were agreed. `related_*`: the other item of a conflict, the earlier
    one, or with `found_later` the later one that clashes with this item. A topic that is a confidential
    contact's summary (`*_confidential`) is not shown."""

    flag_id: int
    kind: FlagKind
    topic: str
    owner: str
    since: dt.date | None
    is_open: bool
    related_owner: str = ""
    related_since: dt.date | None = None
    related_topic: str = ""
    found_later: bool = False
    topic_confidential: bool = False
    related_topic_confidential: bool = False
    # Why it fired (kam.checks: the service or words matched; the countries and group members), and the other
    # item's account when it is another of the customer group ("": a confidential one, not named).
    why: Mapping[str, Any] = field(default_factory=dict)
    other_account: str | None = None
    item_confidential: bool = False  # the card's own item is a confidential contact: its words are not quoted
    dismissed_by: str = ""
    dismissed_on: dt.date | None = None
    dismissed_reason: str = ""


@dataclass(frozen=True)
class EndableAgreement:
    """A framework agreement the viewer may mark as ended, named on its button."""

    flag_id: int
    topic: str
    agreed_on: dt.date | None
    topic_confidential: bool = False


@dataclass(frozen=True)
class Attention:
    """An item's acknowledgements and findings, as one viewer (or, with no viewer, anyone) sees them."""

    item_kind: ItemKind
    item_id: int
    account_id: int
    entries: Sequence[AckEntry] = ()
    flags: Sequence[FlagView] = ()
    refresh_user_ids: Sequence[str] = ()
    viewer_reasons: Sequence[str] = ()
    viewer_acknowledged: dt.date | None = None
    viewer_may_end: Sequence[EndableAgreement] = field(default_factory=tuple)
    viewer_may_dismiss: Sequence[int] = ()  # the conflicts (flag ids) the viewer may mark "not a conflict"
    banner: str = ""

    def data(self, verb: str, **extra: Any) -> dict[str, Any]:
        return {
            "verb": verb,
            "item_kind": self.item_kind.value,
            "item_id": self.item_id,
            "account_id": self.account_id,
            **extra,
        }


def _topic(t: Texts, topic: str, confidential: bool) -> str:
    return t("flag.topic.confidential") if confidential else topic


def flag_text(t: Texts, flag: FlagView) -> str:
    """What the check found, then why it fired."""
    related = flag.related_since.isoformat() if flag.related_since else ""
    name = shorten(flag.related_owner or flag.owner, NAME_WIDTH)
    if flag.other_account == "":  # a confidential account of the customer group: neither it nor its people named
        name = t("flag.group.hidden_owner")
    elif flag.other_account is not None:  # another account of the customer group
        name = t("flag.group.owner_on", name=name, account=shorten(flag.other_account, NAME_WIDTH))
    across = (FlagKind.PARALLEL_FRAMEWORK, FlagKind.FREE_AFTER_PAID)
    group = ".group" if flag.other_account is not None and flag.kind in across else ""
    if flag.kind == FlagKind.PRICE_RISK and not flag.why.get("countries") and flag.why.keys() & {"via", "via_hidden"}:
        group = ".group"  # no sites of its own there: a sister account's are
    if flag.found_later:
        topic = _topic(t, flag.related_topic, flag.related_topic_confidential)
        text = t(f"flag.{flag.kind.value}.later{group}", topic=topic, name=name, date=related)
    else:
        topic = _topic(t, flag.topic, flag.topic_confidential)
        text = t(f"flag.{flag.kind.value}{group}", topic=topic, name=name, date=related)
    why = why_text(t, flag)
    return f"{text} {why}" if why else text


def _quote(t: Texts, words: Any) -> str:
    return t("why.quote", words=shorten(" ".join(str(words).split()), QUOTE_WIDTH))


def _service_name(t: Texts, names: Any, fallback: str) -> str:
    if isinstance(names, Mapping):
        return str(names.get(t.language) or names.get("en") or next(iter(names.values()), fallback))
    return fallback


def why_text(t: Texts, flag: FlagView) -> str:
    """Why a check fired, from what it stored (kam.checks), so that people can judge it: the catalogue service
    both items name or the words they share, the words that made it a concession or a framework agreement, the
    countries and the group members they come from. Words from an item this card may not show are left out."""
    why = flag.why
    if not why:
        return ""
    # The flag belongs to the later item: its words are "this item's" on its own card, the other item's on the
    # earlier item's card (found_later). Each item's words are hidden where the item's details are.
    later_hidden = flag.related_topic_confidential if flag.found_later else flag.item_confidential
    earlier_hidden = flag.item_confidential if flag.found_later else flag.related_topic_confidential
    if flag.kind == FlagKind.FREE_AFTER_PAID:
        first = "" if earlier_hidden else why.get("first", "")  # the paid agreement's words
        second = "" if later_hidden else why.get("second", "")  # the concession's
        quotes = " / ".join(_quote(t, w) for w in (first, second) if w)
        if why.get("service"):
            service = _service_name(t, why.get("service_names"), str(why["service"]))
            text = t("why.service", service=shorten(service, QUOTE_WIDTH), quotes=f" ({quotes})" if quotes else "")
        else:
            text = t("why.words", quotes=quotes or "—")
        if why.get("group"):
            text = f"{text} {t('why.group')}"
        given = why.get("given")
        if given == "ticked":
            return f"{text} {t('why.ticked')}"
        return f"{text} {t('why.given', words=_quote(t, given))}" if given and not later_hidden else text
    if flag.kind == FlagKind.PARALLEL_FRAMEWORK:
        later = (why.get("words"), later_hidden)  # None: ticked on the form
        earlier = (why.get("other_words"), earlier_hidden)
        parts = [
            _quote(t, words) if words else t("why.framework.ticked") for words, hidden in (later, earlier) if not hidden
        ]
        text = t("why.framework", quotes=" / ".join(parts)) if parts else ""
        return f"{text} {t('why.group')}".strip() if why.get("group") else text
    if flag.kind == FlagKind.PRICE_RISK and (why.get("via") or why.get("via_hidden")):
        via = [str(v) for v in why.get("via") or []]
        if why.get("via_hidden"):
            via.append(t("why.price.hidden", count=why["via_hidden"]))
        countries = [str(c) for c in why.get("via_countries") or []]
        shown = ", ".join(countries[:COUNTRIES_SHOWN]) + (", …" if len(countries) > COUNTRIES_SHOWN else "")
        key = "why.price.group" if shown else "why.price.group.undisclosed"
        return t(key, accounts=names_text(t, via), countries=shown)
    return ""


def _dismiss_action(t: Texts, attention: Attention, flag: FlagView) -> ShowCardAction:
    """ "Not a conflict": a reason is required, and goes with the flag it is about."""
    reason = REASON_INPUT.format(flag_id=flag.flag_id)
    data = attention.data(VERB_DISMISS_CONFLICT, flag_id=flag.flag_id)
    title = t("flag.dismiss.button")
    form = AdaptiveCard(
        body=[
            TextInput(
                id=reason,
                label=t("flag.dismiss.reason"),
                is_multiline=True,
                is_required=True,
                max_length=DISMISS_REASON_MAX,
                error_message=t("field.required"),
            )
        ],
        actions=[
            ExecuteAction(
                title=t("flag.dismiss.submit"),
                verb=VERB_DISMISS_CONFLICT,
                data=data,
                associated_inputs="auto",
                fallback=SubmitAction(title=t("flag.dismiss.submit"), data=data),
            )
        ],
    )
    return ShowCardAction(title=title, card=form)


def dismissed_text(t: Texts, flag: FlagView, *, with_reason: bool = True) -> str:
    day = flag.dismissed_on.isoformat() if flag.dismissed_on else ""
    reason = shorten(flag.dismissed_reason, DISMISSED_WIDTH)
    name = shorten(flag.dismissed_by, NAME_WIDTH) if flag.dismissed_by else t("flag.dismissed.someone")
    if not with_reason:
        return t("flag.dismissed.short", name=name, date=day)
    return t("flag.dismissed", name=name, date=day, reason=reason)


def end_agreement_title(t: Texts, agreement: EndableAgreement) -> str:
    """Which agreement the button ends: what it is about, and when it was agreed."""
    topic = shorten(" ".join(_topic(t, agreement.topic, agreement.topic_confidential).split()), AGREEMENT_WIDTH)
    if agreement.agreed_on is None:
        return t("flag.end_agreement.undated", topic=topic)
    return t("flag.end_agreement", topic=topic, date=agreement.agreed_on.isoformat())


def _reason_text(t: Texts, reason: str) -> str:
    if reason.startswith("rule:"):
        return t("ack.reason.rule", about=t(f"about.{reason[5:]}"))
    return t(f"ack.reason.{reason}")


def reasons_text(t: Texts, reasons: Sequence[str]) -> str:
    """Why someone was asked to acknowledge an item, in words (their card and their feed notification say it)."""
    return "; ".join(_reason_text(t, r) for r in reasons)


def _status(t: Texts, attention: Attention) -> list[CardElement]:
    required = [e for e in attention.entries if e.required]
    if not required:
        return [static(t("ack.nobody"), subtle=True)]
    done = [e for e in required if e.acknowledged_on]
    waiting = [e.name for e in required if not e.acknowledged_on and not e.unreachable]
    unreachable = [e.name for e in required if not e.acknowledged_on and e.unreachable]
    body: list[CardElement] = [static(t("ack.progress", done=len(done), total=len(required)), bold=True)]
    if done:
        dated = [f"{shorten(e.name, NAME_WIDTH)} ({e.acknowledged_on.isoformat()})" for e in done if e.acknowledged_on]
        body.append(plain(t("ack.done", names=names_text(t, dated, width=NAME_WIDTH + 13))))
    if waiting:
        body.append(plain(t("ack.waiting", names=names_text(t, waiting))))
    if unreachable:
        body.append(callout(t("ack.unreachable", names=names_text(t, unreachable)), "attention"))
    also = [e.name for e in attention.entries if not e.required and e.acknowledged_on]
    if also:
        body.append(plain(t("ack.also", names=names_text(t, also)), subtle=True))
    return body


def _mentions(t: Texts, must_know: Sequence[Recipient]) -> tuple[str, list[Recipient]]:
    """The "for your attention" line and whom it @mentions: the first MENTIONS_SHOWN, with shortened names."""
    shown, more = first(must_know, MENTIONS_SHOWN)
    mentioned = [Recipient(r.user_id, shorten(r.name, NAME_WIDTH)) for r in shown]
    tags = ", ".join(mention_tag(r.name) for r in mentioned)
    return (t("list.and_more", names=tags, count=more) if more else tags), mentioned


def card_with_attention(
    t: Texts,
    body: list[CardElement],
    attention: Attention | None,
    *,
    anyone: bool,
    fallback_text: str,
    must_know: Sequence[Recipient] = (),
) -> dict[str, Any]:
    """An item's card: its own body, then the attention section, its buttons and refresh, and the @mentions."""
    tags, mentioned = _mentions(t, must_know)
    if mentioned:
        body.append(static(t("summary.attention", mentions=tags)))
    actions: list[Action] = []
    refresh = None
    if attention is not None:
        extra, actions, refresh = attention_section(t, attention, anyone=anyone)
        body += extra
    mentions = [mention(r.user_id, r.name) for r in mentioned]
    return card(body, actions, fallback_text=fallback_text, mentions=mentions, refresh=refresh)


def attention_section(
    t: Texts, attention: Attention, *, anyone: bool
) -> tuple[list[CardElement], list[Action], RefreshDefinition | None]:
    """Body, buttons and refresh. `anyone`: the card everyone sees first (the channel post)."""
    body: list[CardElement] = []
    if attention.banner:
        body.append(callout(attention.banner, "attention", bold=True))
    conflicts_first = sorted(attention.flags, key=lambda flag: flag.kind not in CONFLICTS)
    flags, more_flags = first(conflicts_first, FLAGS_SHOWN)
    for flag in flags:
        conflict = flag.kind in CONFLICTS and flag.dismissed_on is None
        body.append(callout(flag_text(t, flag), "attention" if conflict else "warning", bold=conflict))
        if flag.dismissed_on is not None:  # why, on each one's own view; the channel post says who and when
            body.append(callout(dismissed_text(t, flag, with_reason=not anyone), "good"))
    if more_flags:
        body.append(callout(t("flag.more", count=more_flags), "warning", user_text=False))
    body += _status(t, attention)
    actions: list[Action] = []
    if attention.viewer_acknowledged:
        body.append(callout(t("ack.you_did", date=attention.viewer_acknowledged.isoformat()), "good", user_text=False))
    elif attention.viewer_reasons or anyone:
        if attention.viewer_reasons:
            body.append(static(t("ack.why_you", reasons=reasons_text(t, attention.viewer_reasons))))
        data = attention.data(VERB_ACKNOWLEDGE)
        title = t("ack.button")
        actions.append(
            ExecuteAction(
                title=title,
                verb=VERB_ACKNOWLEDGE,
                data=data,
                style="positive",
                fallback=SubmitAction(title=title, data=data),
            )
        )
    for agreement in attention.viewer_may_end[:ENDS_SHOWN]:
        data = attention.data(VERB_END_AGREEMENT, flag_id=agreement.flag_id)
        title = end_agreement_title(t, agreement)
        actions.append(
            ExecuteAction(
                title=title, verb=VERB_END_AGREEMENT, data=data, fallback=SubmitAction(title=title, data=data)
            )
        )
    for flag in flags if not anyone else ():  # the channel post is everyone's: each marks it on their own view
        if flag.flag_id in attention.viewer_may_dismiss and flag.dismissed_on is None:
            actions.append(_dismiss_action(t, attention, flag))
    refresh = None
    if attention.refresh_user_ids:
        refresh = RefreshDefinition(
            action=ExecuteAction(title=t("ack.refresh"), verb=VERB_VIEW, data=attention.data(VERB_VIEW)),
            user_ids=list(attention.refresh_user_ids)[:REFRESH_USERS_MAX],
        )
    return body, actions, refresh
