"""The weekly digest card: what is new on my accounts, what waits for me, the coverage gaps of the accounts I
manage, one tap to log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from microsoft_teams.cards import CardElement

from cards.build import card, command_button, heading, plain, static
from cards.fit import first, names_text, shorten
from cards.gaps import map_gap_lines
from cards.i18n import Texts
from kam.digest import TELL, UPDATE_REVIEW, AccountGaps, AccountNews, Digest, Waiting

ACCOUNTS_SHOWN = 10  # accounts with news on one card; the rest are counted
WAITING_SHOWN = 10
GAP_ACCOUNTS_SHOWN = 5  # accounts with coverage gaps on one card; the rest are counted
TITLE_WIDTH = 80


def _news(t: Texts, news: AccountNews) -> list[CardElement]:
    counts = t("digest.news.counts", contacts=news.contacts, decisions=news.decisions)
    if news.last_met is not None:
        counts = f"{counts} {t('digest.news.last_met', date=news.last_met.isoformat())}"
    lines = [plain(news.account_name, bold=True), static(counts, subtle=True)]
    lines += [plain(f"• {shorten(title, TITLE_WIDTH)}") for title in news.decision_titles]
    return lines


def _waiting(t: Texts, item: Waiting) -> CardElement:
    on = item.on.isoformat() if item.on else ""
    if item.what == UPDATE_REVIEW:
        text = t("digest.waiting.review", account=item.account_name, date=on)
    elif item.what == TELL:
        text = t("digest.waiting.tell", account=item.account_name, title=shorten(item.title, TITLE_WIDTH), date=on)
    elif item.contact_kind is not None:
        kind = t(f"kind.{item.contact_kind.value}")
        text = t("digest.waiting.contact", account=item.account_name, kind=kind, date=on)
    else:
        text = t("digest.waiting.item", account=item.account_name, title=shorten(item.title, TITLE_WIDTH))
    return plain(f"• {text}")


def _gaps(t: Texts, account: AccountGaps) -> list[CardElement]:
    lines: list[CardElement] = [plain(account.account_name, bold=True)]
    return lines + [plain(f"• {line}") for line in map_gap_lines(t, account.relationship_map)]


def digest_card(t: Texts, digest: Digest, since: dt.date) -> dict[str, Any]:
    """One card a week across all the person's accounts; user text (names, titles) only in TextRuns."""
    body: list[CardElement] = [
        heading(t("digest.title")),
        static(t("digest.since", date=since.isoformat()), subtle=True),
    ]
    body.append(static(t("digest.news"), bold=True))
    shown, more = first(digest.news, ACCOUNTS_SHOWN)
    for news in shown:
        body += _news(t, news)
    if more:
        body.append(static(t("digest.more_accounts", count=more), subtle=True))
    if not digest.news:
        body.append(static(t("digest.news.none"), subtle=True))
    body.append(static(t("digest.waiting", count=len(digest.waiting)), bold=True))
    waiting, more = first(digest.waiting, WAITING_SHOWN)
    body += [_waiting(t, item) for item in waiting]
    if more:
        body.append(static(t("digest.more_waiting", count=more), subtle=True))
    if not digest.waiting:
        body.append(static(t("digest.waiting.none"), subtle=True))
    if digest.gaps:
        body.append(static(t("digest.gaps"), bold=True))
        with_gaps, more = first(digest.gaps, GAP_ACCOUNTS_SHOWN)
        for account in with_gaps:
            body += _gaps(t, account)
        if more:
            body.append(static(t("digest.gaps.more", count=more), subtle=True))
    if digest.quiet_accounts:
        body.append(plain(t("digest.quiet", names=names_text(t, digest.quiet_accounts))))
    body.append(static(t("digest.settings"), subtle=True))
    actions = [
        command_button(t("nudge.log_contact"), t("command.log_contact")),
        command_button(t("nudge.log_decision"), t("command.log_decision")),
        command_button(t("nudge.pause"), t("command.pause_nudges")),
    ]
    return card(body, actions, fallback_text=t("digest.title"))
