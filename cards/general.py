"""Welcome, help, account list and notice cards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from microsoft_teams.cards import Version

from cards.build import CARD_VERSION, card, command_button, heading, plain, static
from cards.fit import first, names_text
from cards.health import health_lines
from cards.i18n import Texts
from kam.health import Health
from kam.models import Role, Tier

ACCOUNTS_SHOWN = 30  # someone on more accounts finds each in its channel
COMMANDS = (
    "help",
    "log_contact",
    "log_decision",
    "timeline",
    "rules",
    "review_plan",
    "log_price_action",
    "pause_nudges",
    "digest",
    "stakeholders",
    "add_stakeholder",
    "edit_stakeholder",
    "relationship",
    "accounts",
    "new_account",
    "score",
    "candidate",
    "list_review",
)


def _command_list(t: Texts) -> list[Any]:
    lines = [static(t("welcome.commands"), bold=True)]
    for command in COMMANDS:
        lines.append(static(f"**{t(f'command.{command}')}**: {t(f'command.{command}.about')}"))
    return lines


def _command_buttons(t: Texts) -> list[Any]:
    return [command_button(t(f"command.{command}"), t(f"command.{command}")) for command in ("log_contact", "accounts")]


def welcome_card(t: Texts) -> dict[str, Any]:
    body = [heading(t("welcome.title")), static(t("welcome.body")), *_command_list(t)]
    return card(body, _command_buttons(t), fallback_text=t("welcome.body"))


def help_card(t: Texts) -> dict[str, Any]:
    body = [heading(t("help.title")), static(t("help.body")), *_command_list(t)]
    return card(body, _command_buttons(t), fallback_text=t("help.body"))


@dataclass(frozen=True)
class AccountLine:
    name: str
    tier: Tier
    role: Role


def accounts_card(t: Texts, accounts: list[AccountLine], unnamed: int = 0) -> dict[str, Any]:
    """`unnamed`: confidential accounts left out because others read along (named in the 1:1 chat)."""
    body: list[Any] = [heading(t("accounts.title"))]
    if not accounts and not unnamed:
        body.append(static(t("accounts.none")))
    shown, more = first(accounts, ACCOUNTS_SHOWN)
    for line in shown:
        body.append(plain(line.name, bold=True))
        body.append(static(f"{t(f'tier.{line.tier.value}')} · {t(f'accounts.role.{line.role.value}')}", subtle=True))
    if more:
        body.append(static(t("accounts.more", count=more), subtle=True))
    if unnamed:
        body.append(static(t("accounts.confidential_elsewhere", count=unnamed), subtle=True))
    actions = [command_button(t("command.log_contact"), t("command.log_contact"))] if accounts else []
    return card(body, actions, fallback_text=t("accounts.title"))


def channel_welcome_card(t: Texts, account_name: str, managers: list[str]) -> dict[str, Any]:
    """The first post in a new account channel."""
    body = [heading(t("channel.welcome.title", account=account_name)), static(t("channel.welcome.body"))]
    if managers:
        body.append(plain(t("channel.welcome.managers", names=names_text(t, managers)), subtle=True))
    body += _command_list(t)
    actions = [command_button(t("command.log_contact"), t("command.log_contact"))]
    return card(body, actions, fallback_text=t("channel.welcome.title", account=account_name))


@dataclass(frozen=True)
class AccountSummary:
    name: str
    tier: Tier
    managers: list[str]
    contacts_90d: int
    decisions_90d: int
    last_contact: str  # ISO date, or "" when never
    health: Health | None = None  # None: no score yet


# Link unfurling renders Adaptive Cards up to 1.3 (Microsoft's link unfurling page); the summary needs no newer.
UNFURL_VERSION: Final[Version] = "1.3"


def account_summary_card(t: Texts, summary: AccountSummary, *, version: Version = CARD_VERSION) -> dict[str, Any]:
    """The card the search command inserts, and a pasted account link unfurls into, in any chat: the
    account at a glance, nothing confidential (it is read wherever it is shared): its health score says which
    parts cost most and which kinds of coverage gaps there are, never whom they are about."""
    body: list[Any] = [heading(summary.name), static(t(f"tier.{summary.tier.value}"), subtle=True)]
    if summary.managers:
        body.append(plain(t("channel.welcome.managers", names=names_text(t, summary.managers))))
    body.append(static(t("search.activity", contacts=summary.contacts_90d, decisions=summary.decisions_90d)))
    last = t("search.last_contact", date=summary.last_contact) if summary.last_contact else t("search.no_contact")
    body.append(static(last, subtle=True))
    body += health_lines(t, summary.health)
    return card(body, fallback_text=summary.name, version=version)


def delivery_failed_card(t: Texts, account_name: str, kind: str, error: str) -> dict[str, Any]:
    """To the KA managers and admins: something the team should have seen did not arrive, and what to do."""
    what = t(f"failed.kind.{kind}") if kind in FAILED_KINDS else t("failed.kind.other")
    fix = next((f"failed.fix.{code}" for code in KNOWN_REFUSALS if f"({code})" in error), "failed.fix")
    body = [
        heading(t("failed.title", account=account_name)),
        static(t("failed.body", what=what)),
        plain(error, subtle=True),
        static(t(fix)),
    ]
    return card(body, fallback_text=t("failed.title", account=account_name))


FAILED_KINDS = ("contact.logged", "decision.logged", "channel.welcome", "ack.request", "ack.reminder")
# Teams' refusals with a fix of their own: a channel the bot is not in, a person it cannot open a chat with.
KNOWN_REFUSALS = ("BotNotInConversationRoster", "ForbiddenOperationException")


def members_missing_card(t: Texts, account_name: str, names: list[str]) -> dict[str, Any]:
    """To the KA managers, once per person: on the account team, but not in the Teams team of its channel."""
    body = [
        heading(t("missing.title", account=account_name)),
        plain(t("missing.names", names=names_text(t, names))),
        static(t("missing.body")),
    ]
    return card(body, fallback_text=t("missing.title", account=account_name))
