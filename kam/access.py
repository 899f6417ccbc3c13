"""The access policy: who may see an item and its confidential details, and who may do what.

Every surface asks here (the verb and command router, the tab middleware, the search and
message-action invokes, the exports); no handler decides it again. Ids that come from a
card or a page are claims: `kam.subjects` looks them up, and a refusal is the same for
"does not exist" and "not yours", naming nothing (`Refused`).

Who sees what (README, "Security model"):
- an account's items, timeline, plan, map and rules: the people on its account team
  (KA managers, members, account admins), nobody else;
- a confidential contact's details: its author, our participants, the account's KA
  managers and the people the rules asked to acknowledge it, and only where nobody else
  can read along: a 1:1 chat with the bot, or their own view of a tab or export. Anywhere
  shared (channels, group and meeting chats, dialogs opened there) everyone sees that a
  confidential contact happened, never what was said; the relationship map counts
  confidential contacts only for the KA managers (who met whom, and when, is a detail);
- kambot admins (KAMBOT_ADMIN_AAD_IDS) provision and add accounts; being an admin shows
  no account's data;
- the head of KAM (KAMBOT_HEAD_OF_KAM_AAD_IDS) sees the figures of every account (the
  portfolio, each account's Insights), runs the key account list reviews and records
  candidates; KA managers see the figures of their own accounts and comment on them in a
  list review; members see how information flows on their accounts. Figures never show
  an item's content: the head of KAM reads no account's contacts by being head of KAM.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum

from kam.errors import NotAllowed, Refused
from kam.models import Account, ItemKind, Person, Role

TEAM = frozenset({Role.MANAGER, Role.MEMBER, Role.ADMIN})
MANAGERS = frozenset({Role.MANAGER, Role.ADMIN})
ACKNOWLEDGEABLE = frozenset({ItemKind.CONTACT, ItemKind.DECISION, ItemKind.PRICE_ACTION})


class Audience(StrEnum):
    """Who can read along: only the person (a 1:1 chat with the bot, a tab), or others too."""

    PRIVATE = "private"
    SHARED = "shared"


def audience_of(conversation_type: str | None) -> Audience:
    """The one definition of "shared": anything that is not a 1:1 chat with the bot."""
    return Audience.PRIVATE if conversation_type == "personal" else Audience.SHARED


class Act(StrEnum):
    """What someone wants to do; each has one rule in RULES."""

    VIEW = "view"  # an account's items, timeline, plan, map, rules; its summary card
    EXPORT = "export"  # the Log tab's export
    LOG = "log"  # contacts, decisions, stakeholders, and the forms that lead there
    ACKNOWLEDGE = "acknowledge"  # take note of a contact, decision or price risk
    EDIT_PLAN = "edit_plan"  # members their own objectives and actions, managers everything (kam.plans)
    MANAGE = "manage"  # start, remind and close plan reviews; change the account's rules
    END_AGREEMENT = "end_agreement"  # a framework agreement's owner, or a KA manager
    DISMISS_CONFLICT = "dismiss_conflict"  # who a conflict names: its items' owners, the KA managers
    SET_STRENGTH = "set_strength"  # a relationship's strength by hand: whose tie it is, the KA managers
    VIEW_PORTFOLIO = "view_portfolio"  # the portfolio page and its export: the head of KAM, KA managers (their own)
    RUN_LIST_REVIEW = "run_list_review"  # start and decide key account list reviews: the head of KAM
    COMMENT_LIST_REVIEW = "comment_list_review"  # a list review's proposal for an account: its KA managers
    RECORD_CANDIDATE = "record_candidate"  # candidates for the list: the head of KAM and KA managers
    EDIT_RESULTS = "edit_results"  # an account's results figures in the Plan tab: its KA managers
    SCORE_ACCOUNT = "score_account"  # an account's scores on the selection criteria: its KA managers, the head of KAM
    UPDATE_REVIEW = "update_review"  # the owners of items in the review
    ANSWER_NUDGE = "answer_nudge"  # the person the nudge was sent to
    USE = "use"  # help, own accounts, own nudges: anyone
    LOG_PRICE_ACTION = "log_price_action"  # anyone on some account team
    CREATE_ACCOUNT = "create_account"  # KA managers and account admins of any account, kambot admins
    PROVISION = "provision"  # kambot admins


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role] = frozenset()  # roles on the subject's account that may
    owners: bool = False  # the subject's owners may too (still only if on the team)
    only_owners: bool = False  # owners on the team, whatever their role; nobody else
    admins: bool = False  # kambot admins may
    heads: bool = False  # the head of KAM may
    anyone: bool = False
    account: bool = True  # about one account (its team decides); False: about the caller alone


RULES: dict[Act, Rule] = {
    Act.VIEW: Rule(roles=TEAM),
    Act.EXPORT: Rule(roles=TEAM),
    Act.LOG: Rule(roles=TEAM),
    Act.ACKNOWLEDGE: Rule(roles=TEAM),
    Act.EDIT_PLAN: Rule(roles=TEAM),
    Act.MANAGE: Rule(roles=MANAGERS),
    Act.END_AGREEMENT: Rule(roles=frozenset({Role.MANAGER}), owners=True),
    Act.DISMISS_CONFLICT: Rule(roles=frozenset({Role.MANAGER}), owners=True),
    Act.SET_STRENGTH: Rule(roles=frozenset({Role.MANAGER}), owners=True),
    Act.VIEW_PORTFOLIO: Rule(roles=frozenset({Role.MANAGER}), heads=True, account=False),
    Act.RUN_LIST_REVIEW: Rule(heads=True, account=False),
    Act.COMMENT_LIST_REVIEW: Rule(roles=frozenset({Role.MANAGER})),
    Act.RECORD_CANDIDATE: Rule(roles=frozenset({Role.MANAGER}), heads=True, account=False),
    Act.EDIT_RESULTS: Rule(roles=frozenset({Role.MANAGER})),
    Act.SCORE_ACCOUNT: Rule(roles=frozenset({Role.MANAGER}), heads=True),
    Act.UPDATE_REVIEW: Rule(only_owners=True),
    Act.ANSWER_NUDGE: Rule(only_owners=True),
    Act.USE: Rule(anyone=True, account=False),
    Act.LOG_PRICE_ACTION: Rule(roles=TEAM, account=False),
    Act.CREATE_ACCOUNT: Rule(roles=MANAGERS, admins=True, account=False),
    Act.PROVISION: Rule(admins=True, account=False),
}


@dataclass(frozen=True)
class Principal:
    """Who is asking: the person kambot knows (or None), and what they are beyond their account teams."""

    person: Person | None
    is_admin: bool = False
    is_head_of_kam: bool = False  # KAMBOT_HEAD_OF_KAM_AAD_IDS
    # Their roles on any active account team: loaded for acts that are about no one account.
    any_roles: frozenset[Role] = frozenset()

    @property
    def person_id(self) -> int | None:
        return self.person.id if self.person is not None else None


@dataclass(frozen=True)
class Subject:
    """What an act is about, looked up from the ids a card or page named."""

    account: Account | None = None
    owner_ids: frozenset[int] = frozenset()  # a flag's owner, a review's item owners, a nudge's addressee
    item_kind: ItemKind | None = None
    confidential: bool = False
    # Besides the KA managers: who may read a confidential item's details (author, participants, asked).
    insider_ids: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Place:
    """Where the act happens: who can read along, and the account whose channel it is (if any)."""

    audience: Audience = Audience.PRIVATE
    channel_account_id: int | None = None


def role_on(account: Account, principal: Principal) -> Role | None:
    person_id = principal.person_id
    if person_id is None:
        return None
    return next((m.role for m in account.members if m.person_id == person_id), None)


def is_allowed(principal: Principal, act: Act, subject: Subject = Subject(), place: Place = Place()) -> bool:
    rule = RULES[act]
    if rule.anyone:
        return True
    if rule.admins and principal.is_admin:
        return True
    if rule.heads and principal.is_head_of_kam and principal.person is not None:
        # About one account (its scores): any account, but not in another account's channel.
        if not rule.account or (subject.account is not None and place.channel_account_id in (None, subject.account.id)):
            return True
    if not rule.account:
        return bool(rule.roles & principal.any_roles) and principal.person is not None
    account = subject.account
    if account is None:
        return False
    if place.channel_account_id is not None and place.channel_account_id != account.id:
        return False  # another account's channel: its team may not be this account's
    if act == Act.ACKNOWLEDGE and subject.item_kind not in ACKNOWLEDGEABLE:
        return False  # a review is answered by updating one's items, not by a click
    role = role_on(account, principal)
    if role is None:
        return False
    owner = principal.person_id in subject.owner_ids
    if rule.only_owners:
        return owner
    return role in rule.roles or (rule.owners and owner)


def require(principal: Principal, act: Act, subject: Subject = Subject(), place: Place = Place()) -> None:
    """Return if allowed; else Refused, the same whatever the reason and naming nothing.

    Someone on the account team who lacks the role or ownership hears so (NotAllowed, saying
    what the act needs): they know the account already, so that tells them nothing new.
    """
    if is_allowed(principal, act, subject, place):
        return
    account = subject.account
    if not RULES[act].account:
        if principal.person is not None:
            raise NotAllowed(act.value)
        raise Refused()
    knows_it = (
        account is not None
        and role_on(account, principal) is not None
        and place.channel_account_id in (None, account.id)
        and (act != Act.ACKNOWLEDGE or subject.item_kind in ACKNOWLEDGEABLE)
    )
    if knows_it:
        raise NotAllowed(act.value)
    raise Refused()


def may_see_details(principal: Principal, subject: Subject, audience: Audience) -> bool:
    """A confidential item's details: insiders and KA managers, in a place only they can read."""
    if not subject.confidential:
        return True
    if audience != Audience.PRIVATE or subject.account is None or principal.person_id is None:
        return False
    if principal.person_id in subject.insider_ids:
        return True
    return role_on(subject.account, principal) == Role.MANAGER


def map_counts_confidential(principal: Principal, account: Account) -> bool:
    """Whether the relationship map someone sees counts the account's confidential contacts.

    A tie drawn from a confidential contact tells who met whom and when: a detail. The KA managers may see
    every confidential contact's details; the rest of the team gets the map of the other contacts.
    """
    return role_on(account, principal) == Role.MANAGER


class KpiScope(StrEnum):
    """How much of an account's figures someone sees (kam.kpis): all of them, or how information flows."""

    ALL = "all"
    FLOW = "flow"


def kpi_scope(principal: Principal, account: Account) -> KpiScope | None:
    """The head of KAM and the account's KA managers see all its figures, its team how information flows on it,
    anyone else nothing."""
    if principal.is_head_of_kam and principal.person is not None:
        return KpiScope.ALL
    role = role_on(account, principal)
    if role == Role.MANAGER:
        return KpiScope.ALL
    return KpiScope.FLOW if role is not None else None


def portfolio_accounts(accounts: Collection[Account], principal: Principal) -> list[Account]:
    """The accounts of the portfolio page and its export: all for the head of KAM, their own for a KA manager."""
    if principal.is_head_of_kam and principal.person is not None:
        return list(accounts)
    return [a for a in accounts if role_on(a, principal) == Role.MANAGER]


def team_accounts(accounts: Collection[Account], principal: Principal, act: Act = Act.VIEW) -> list[Account]:
    """Of `accounts`, those on which the principal may `act` (a search, a picker, a portfolio)."""
    return [a for a in accounts if is_allowed(principal, act, Subject(account=a))]


def nameable(accounts: Collection[Account], audience: Audience) -> list[Account]:
    """An account marked confidential is named only where nobody else reads along."""
    return [a for a in accounts if audience == Audience.PRIVATE or not a.confidential]
