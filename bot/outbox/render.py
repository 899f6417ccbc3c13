"""What each outbox row becomes: a card and where it goes, one renderer per OutboxKind.

`RENDERERS` is the table: a kind without a renderer cannot be sent (a test holds every
kind against it). A renderer only reads; the sender posts what it returns, with no
transaction open. None means the row is no longer owed (acknowledged meanwhile, say).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ack_batch import batch_items
from bot.items import item_card
from bot.list_review_lines import proposal_lines
from bot.new_forms import NEW_FORMS, form_context
from bot.outbox.address import AddressBook, Destination, Feed, Undeliverable
from bot.outbox.notifications import notification_about
from bot.tab_links import TabLinks
from cards.ack_batch import ack_batch_card
from cards.brief import brief_view, meeting_brief_card
from cards.digest import digest_card
from cards.fit import names_text
from cards.forms import Option, account_picker_card
from cards.general import channel_welcome_card, delivery_failed_card, members_missing_card
from cards.health import health_drop_card
from cards.i18n import Texts
from cards.kpi_card import AccountFigures, head_kpi_card, manager_kpi_card
from cards.list_review import comment_card, list_review_due_card
from cards.nudge import MeetingView, meeting_nudge_card
from cards.review import review_due_card, review_summary_card
from graph.activity_feed import ActivityNotification
from kam.access import (
    Act,
    Audience,
    KpiScope,
    Principal,
    Subject,
    is_allowed,
    kpi_scope,
    portfolio_accounts,
    team_accounts,
)
from kam.accounts import accounts_of, get_account, managers_of
from kam.acknowledgements import carried, get_acknowledgement, person_of_card, requests_on_card
from kam.briefs import brief_contents
from kam.briefs import still_due as brief_still_due
from kam.catalogue import Catalogue
from kam.contacts import get_contact
from kam.decisions import get_decision
from kam.dependency import crossed, dependency_risk
from kam.digest import digest_of
from kam.errors import ItemNotFound
from kam.health import stored_drop
from kam.kpi_cards import results_year
from kam.kpis import kpis_for, within_scope
from kam.list_reviews import open_list_review
from kam.meetings import still_wanted as meeting_still_wanted
from kam.models import Account, Flag, ItemKind, ListReview, MeetingBrief, MeetingNudge, OutboxMessage, Person, utcnow
from kam.nudges import local_now, zone_of
from kam.outbox import OutboxKind
from kam.people import addressee, teams_id
from kam.reviews import get_review
from kam.selection import Selection


@dataclass(frozen=True)
class Rendered:
    """The card a row stands for, where it goes, and to whom it is issued (None: a channel, any member may act);
    for a feed notification (to a Feed), the notification instead of a card."""

    destination: Destination | Feed
    card: dict[str, Any]
    issued_to: str | None = None
    notification: ActivityNotification | None = None


@dataclass(frozen=True)
class Rendering:
    """What every renderer may use: the row's transaction, the default language, the address book, and the
    links to the tabs where what a card shows in part is whole."""

    session: AsyncSession
    texts: Texts
    addresses: AddressBook
    links: TabLinks
    admins: tuple[str, ...] = ()  # Entra object ids of kambot's admins (told of failures, on no account team)
    catalogue: Catalogue = field(default_factory=Catalogue)  # what the forms it brings offer
    heads: tuple[str, ...] = ()  # Entra object ids of the heads of KAM (KAMBOT_HEAD_OF_KAM_AAD_IDS)
    selection: Selection = field(default_factory=Selection)  # the dependency thresholds the head's card flags

    def principal(self, person: Person) -> Principal:
        """Who a card goes to, as the access policy sees them when the card is sent."""
        return Principal(person, is_head_of_kam=bool(person.aad_object_id) and person.aad_object_id in self.heads)

    def texts_for(self, person: Person) -> Texts:
        return Texts(person.locale or self.texts.language)

    async def to_person(self, person: Person, card: dict[str, Any]) -> Rendered:
        return Rendered(await self.addresses.personal(self.session, person), card, addressee(person))

    async def manager_and_account(self, message: OutboxMessage) -> tuple[Person, Account]:
        """The KA manager a row is addressed to, and the account it is about."""
        manager = await self.session.get(Person, message.subject_id)
        if manager is None or message.account_id is None:
            raise Undeliverable("the KA manager or the account no longer exists")
        return manager, await get_account(self.session, message.account_id)


Renderer = Callable[[Rendering, OutboxMessage], Awaitable[Rendered | None]]


async def channel_welcome(r: Rendering, message: OutboxMessage) -> Rendered:
    account = await get_account(r.session, message.subject_id)
    card = channel_welcome_card(r.texts, account.name, [p.name for p in managers_of(account)])
    return Rendered(await r.addresses.channel(r.session, account), card)


def channel_post(kind: ItemKind) -> Renderer:
    """An item's card in its account's channel (the channel post has no viewer)."""

    async def render(r: Rendering, message: OutboxMessage) -> Rendered:
        account_id = message.account_id
        if kind == ItemKind.CONTACT:
            contact = await get_contact(r.session, message.subject_id)
            account_id = contact.account_id if contact else None
        elif kind == ItemKind.DECISION:
            decision = await get_decision(r.session, message.subject_id)
            account_id = decision.account_id if decision else None
        if account_id is None:
            raise Undeliverable(f"the {kind.value} no longer exists")
        account = await get_account(r.session, account_id)
        item = (kind, message.subject_id)
        card = await item_card(r.session, r.texts, account, item, None, audience=Audience.SHARED, links=r.links)
        return Rendered(await r.addresses.channel(r.session, account), card)

    return render


async def acknowledgement(r: Rendering, message: OutboxMessage) -> Rendered | None:
    """The item, 1:1, to someone asked to acknowledge it (the reminder with a banner)."""
    ack = await get_acknowledgement(r.session, message.subject_id)
    if ack is None or ack.acknowledged_at is not None:
        return None
    t = r.texts_for(ack.person)
    reminder = "review.reminder" if ack.item_kind == ItemKind.REVIEW else "ack.reminder"
    banner = t(reminder) if message.kind == OutboxKind.ACK_REMINDER else ""
    account = await get_account(r.session, ack.account_id)
    try:
        card = await item_card(
            r.session,
            t,
            account,
            (ack.item_kind, ack.item_id),
            ack.person,
            audience=Audience.PRIVATE,
            banner=banner,
            links=r.links,
        )
    except ItemNotFound:
        return None
    return await r.to_person(ack.person, card)


async def acknowledgement_request(r: Rendering, message: OutboxMessage) -> Rendered | None:
    """The requests a row carries (kam.acknowledgements.gather_requests): several on one card, one on the item's
    own card; a review's request (never gathered) as the review's card."""
    if carried(message) is None:
        return await acknowledgement(r, message)
    person = await person_of_card(r.session, message)
    if person is None:
        return None
    t = r.texts_for(person)
    requests = await requests_on_card(r.session, message.id, person)
    items = await batch_items(r.session, t, requests, person, Audience.PRIVATE)
    still_open = [i for i in items if i.acknowledged_on is None]
    if len(still_open) > 1:
        return await r.to_person(person, ack_batch_card(t, message.id, items, refresh_user_id=teams_id(person)))
    if not still_open:
        return None
    account = next(account for account, _ in requests if account.id == still_open[0].account_id)
    item = (still_open[0].item_kind, still_open[0].item_id)
    try:
        card = await item_card(r.session, t, account, item, person, audience=Audience.PRIVATE, links=r.links)
    except ItemNotFound:
        return None
    return await r.to_person(person, card)


async def overdue_report(r: Rendering, message: OutboxMessage) -> Rendered | None:
    manager, account = await r.manager_and_account(message)
    detail = message.detail or {}
    t = r.texts_for(manager)
    item = (ItemKind(detail["item_kind"]), int(detail["item_id"]))
    banner = t("ack.overdue", names=names_text(t, detail.get("people", [])))
    try:
        card = await item_card(
            r.session, t, account, item, manager, audience=Audience.PRIVATE, banner=banner, links=r.links
        )
    except ItemNotFound:
        return None
    return await r.to_person(manager, card)


async def review_summary(r: Rendering, message: OutboxMessage) -> Rendered:
    review = await get_review(r.session, message.subject_id)
    if review is None:
        raise Undeliverable("the review no longer exists")
    account = await get_account(r.session, review.account_id)
    summary = review.summary or {}
    card = review_summary_card(r.texts, account.name, review.plan_version or 0, summary, r.links.to(account, "plan"))
    return Rendered(await r.addresses.channel(r.session, account), card)


async def review_due(r: Rendering, message: OutboxMessage) -> Rendered:
    manager, account = await r.manager_and_account(message)
    card = review_due_card(r.texts_for(manager), account.name, (message.detail or {}).get("last"))
    return await r.to_person(manager, card)


async def delivery_failed(r: Rendering, message: OutboxMessage) -> Rendered:
    manager, account = await r.manager_and_account(message)
    detail = message.detail or {}
    t = r.texts_for(manager)
    card = delivery_failed_card(t, account.name, str(detail.get("kind", "")), str(detail.get("error", "")))
    return await r.to_person(manager, card)


async def members_missing(r: Rendering, message: OutboxMessage) -> Rendered:
    manager, account = await r.manager_and_account(message)
    wanted = [int(i) for i in (message.detail or {}).get("people", [])]
    names = [p.name for p in (await r.session.scalars(select(Person).where(Person.id.in_(wanted))))]
    return await r.to_person(manager, members_missing_card(r.texts_for(manager), account.name, sorted(names)))


async def weekly_digest(r: Rendering, message: OutboxMessage) -> Rendered | None:
    """The person's weekly digest, read when it goes. A row naming an account is a weekly nudge queued before
    the digest replaced them: no longer owed."""
    if message.account_id is not None:
        return None
    digest = await digest_of(r.session, message.subject_id)
    if digest is None:
        return None
    person = digest.person
    card = digest_card(r.texts_for(person), digest, local_now(person, digest.since).date())
    return await r.to_person(person, card)


async def meeting_nudge(r: Rendering, message: OutboxMessage) -> Rendered | None:
    nudge = await r.session.get(MeetingNudge, message.subject_id)
    if nudge is None or not await meeting_still_wanted(r.session, nudge):
        return None
    member = nudge.person
    account = await get_account(r.session, nudge.account_id)
    meeting = MeetingView(
        nudge_id=nudge.id,
        account_id=account.id,
        account_name=account.name,
        subject=nudge.subject,
        starts=local_now(member, nudge.starts_at),
        ends=local_now(member, nudge.ends_at),
        customer_people=nudge.customer_people,
        colleague_ids=nudge.colleague_ids,
    )
    card = meeting_nudge_card(r.texts_for(member), meeting, local_now(member, utcnow()).date())
    return await r.to_person(member, card)


async def requested_form(r: Rendering, message: OutboxMessage) -> Rendered | None:
    """A form asked for where others read along, in its person's 1:1 chat (their language, their day): the
    account's form, or first the picker. The policy is asked again as it goes: only accounts the person may
    still log for (none left: no longer owed)."""
    person = await r.session.get(Person, message.subject_id)
    detail = message.detail or {}
    purpose = str(detail.get("form"))
    build = NEW_FORMS.get(purpose)
    if person is None:
        return None
    if build is None:
        raise Undeliverable(f"no form {purpose!r}")
    wanted = [message.account_id] if message.account_id is not None else [int(i) for i in detail.get("accounts", [])]
    found = await r.session.scalars(select(Account).where(Account.id.in_(wanted), Account.active.is_(True)))
    accounts = sorted(team_accounts(list(found), Principal(person), Act.LOG), key=lambda a: a.name)
    t, today = r.texts_for(person), local_now(person, utcnow()).date()
    if not accounts:
        return None
    if message.account_id is not None:
        context = await form_context(r.session, accounts[0], r.catalogue, t.language)
        return await r.to_person(person, build(t, context, today, None, None))
    picker = account_picker_card(t, [Option(a.id, a.name) for a in accounts], today, purpose=purpose)
    return await r.to_person(person, picker)


async def conflict_notice(r: Rendering, message: OutboxMessage) -> Rendered | None:
    """The person's own item, in their 1:1 chat, with a conflict found against it from another account of the
    customer group, or marked "not a conflict" by someone else. The policy is asked again as it goes: someone
    who left the account's team is no longer owed it."""
    person = await r.session.get(Person, message.subject_id)
    detail = message.detail or {}
    if person is None or message.account_id is None:
        return None
    account = await r.session.get(Account, message.account_id)
    if account is None or not account.active or not is_allowed(Principal(person), Act.VIEW, Subject(account=account)):
        return None
    try:
        item = (ItemKind(str(detail["item_kind"])), int(detail["item_id"]))
    except (KeyError, ValueError, TypeError):
        raise Undeliverable("a conflict notice without its item") from None
    flag = await r.session.get(Flag, int(detail.get("flag_id") or 0))
    if flag is None:
        return None
    t = r.texts_for(person)
    banner = await _notice_banner(r.session, t, str(detail.get("why")), flag, account)
    try:
        card = await item_card(
            r.session, t, account, item, person, audience=Audience.PRIVATE, links=r.links, banner=banner
        )
    except ItemNotFound:
        return None
    return await r.to_person(person, card)


async def _notice_banner(session: AsyncSession, t: Texts, why: str, flag: Flag, account: Account) -> str:
    if why == "dismissed":
        return t("conflict.notice.dismissed", name=flag.dismissed_by.name if flag.dismissed_by else "")
    other = await session.get(Account, flag.account_id)
    named = other.name if other is not None and not other.confidential else t("flag.group.confidential_account")
    key = "conflict.notice.group_paid_service" if why == "group_paid_service" else "conflict.notice.group_framework"
    return t(key, account=named, mine=account.name)


async def meeting_brief(r: Rendering, message: OutboxMessage) -> Rendered | None:
    """The brief before a customer meeting, 1:1: confidential contacts as the access policy lets its reader see them."""
    brief = await r.session.get(MeetingBrief, message.subject_id)
    if brief is None or not await brief_still_due(r.session, brief, message):
        return None
    person = brief.person
    t = r.texts_for(person)
    contents = await brief_contents(r.session, brief, Principal(person), Audience.PRIVATE)
    card = meeting_brief_card(t, brief_view(t, contents, zone_of(person)), r.links.to(contents.account, "log"))
    return await r.to_person(person, card)


async def feed_notification(r: Rendering, message: OutboxMessage) -> Rendered | None:
    """The activity feed notification about a 1:1 card delivered (the row's subject: the card's outbox row)."""
    card_row = await r.session.get(OutboxMessage, message.subject_id)
    if card_row is None:
        return None
    found = await notification_about(r.session, card_row, r.texts.language, r.links, r.addresses, r.admins)
    return Rendered(found[0], {}, notification=found[1]) if found else None


async def list_review_comment(r: Rendering, message: OutboxMessage) -> Rendered | None:
    """A KA manager's accounts' proposals, each re-checked against the policy; none left (decided, or no longer
    their account): not owed."""
    person = await r.session.get(Person, message.subject_id)
    review = await r.session.get(ListReview, (message.detail or {}).get("review", 0))
    if person is None or review is None or review.decided_at is not None:
        return None
    principal = r.principal(person)
    lines = []
    for line in await proposal_lines(r.session, review, person):
        account = await get_account(r.session, line.account_id) if line.account_id is not None else None
        if account is not None and is_allowed(principal, Act.COMMENT_LIST_REVIEW, Subject(account=account)):
            lines.append(line)
    if not lines:
        return None
    card = comment_card(r.texts_for(person), review.comments_by, lines, utcnow().date())
    return await r.to_person(person, card)


async def list_review_due(r: Rendering, message: OutboxMessage) -> Rendered | None:
    """To a head of KAM (still one when it is sent), while no review is open."""
    person = await r.session.get(Person, message.subject_id)
    if person is None or not is_allowed(r.principal(person), Act.RUN_LIST_REVIEW):
        return None
    if await open_list_review(r.session) is not None:
        return None
    detail = message.detail or {}
    card = list_review_due_card(r.texts_for(person), str(detail.get("due", "")), detail.get("last"))
    return await r.to_person(person, card)


async def kpi_monthly(r: Rendering, message: OutboxMessage) -> Rendered | None:
    """The month's figures: the portfolio to a head of KAM, their own accounts to a KA manager (each as the policy
    lets them see it when the card is sent); nothing to someone who is neither any more."""
    person = await r.session.get(Person, message.subject_id)
    if person is None:
        return None
    principal = r.principal(person)
    month = str((message.detail or {}).get("month", ""))
    today = utcnow().date()
    t = r.texts_for(person)
    if principal.is_head_of_kam:
        active = list(await r.session.scalars(select(Account).where(Account.active.is_(True))))
        accounts = portfolio_accounts(active, principal)
        figures = await kpis_for(r.session, [a.id for a in accounts], today)
        risk = await dependency_risk(r.session, await results_year(r.session, today))
        over = crossed(risk, r.selection.dependency)
        thresholds = dict(r.selection.dependency)
        card = head_kpi_card(t, month, list(figures.values()), risk, over, thresholds, r.links.portfolio())
        return await r.to_person(person, card)
    mine = portfolio_accounts(await accounts_of(r.session, person), principal)
    if not mine:
        return None
    figures = await kpis_for(r.session, [a.id for a in mine], today)
    lines = []
    for account in mine:
        scope = kpi_scope(principal, account)
        if scope is None or account.id not in figures:
            continue
        kpis = within_scope(figures[account.id], scope)
        lines.append(AccountFigures(account.name, account.tier, kpis, r.links.insights(account)))
    return await r.to_person(person, manager_kpi_card(t, month, lines)) if lines else None


async def health_drop(r: Rendering, message: OutboxMessage) -> Rendered | None:
    """The account's score fell: to a KA manager who still sees all its figures when the card is sent, with the
    parts that fell as the two stored days hold them."""
    manager, account = await r.manager_and_account(message)
    if kpi_scope(r.principal(manager), account) != KpiScope.ALL:
        return None
    detail = message.detail or {}
    try:
        on, before = dt.date.fromisoformat(str(detail.get("on"))), dt.date.fromisoformat(str(detail.get("before")))
    except ValueError:
        raise Undeliverable("a health drop without its days") from None
    drop = await stored_drop(r.session, account.id, on, before)
    if drop is None:
        return None
    t = r.texts_for(manager)
    return await r.to_person(
        manager, health_drop_card(t, account.name, drop, before.isoformat(), r.links.insights(account))
    )


RENDERERS: Mapping[OutboxKind, Renderer] = {
    OutboxKind.CHANNEL_WELCOME: channel_welcome,
    OutboxKind.CONTACT_LOGGED: channel_post(ItemKind.CONTACT),
    OutboxKind.DECISION_LOGGED: channel_post(ItemKind.DECISION),
    OutboxKind.PRICE_RISK_POSTED: channel_post(ItemKind.PRICE_ACTION),
    OutboxKind.REVIEW_STARTED: channel_post(ItemKind.REVIEW),
    OutboxKind.REVIEW_CLOSED: review_summary,
    OutboxKind.ACK_REQUEST: acknowledgement_request,
    OutboxKind.ACK_REMINDER: acknowledgement,
    OutboxKind.ACK_OVERDUE: overdue_report,
    OutboxKind.REVIEW_DUE: review_due,
    OutboxKind.NUDGE_WEEKLY: weekly_digest,
    OutboxKind.NUDGE_MEETING: meeting_nudge,
    OutboxKind.MEETING_BRIEF: meeting_brief,
    OutboxKind.DELIVERY_FAILED: delivery_failed,
    OutboxKind.MEMBERS_MISSING: members_missing,
    OutboxKind.FEED_NOTIFICATION: feed_notification,
    OutboxKind.FORM_REQUESTED: requested_form,
    OutboxKind.CONFLICT_NOTICE: conflict_notice,
    OutboxKind.LIST_REVIEW_COMMENT: list_review_comment,
    OutboxKind.LIST_REVIEW_DUE: list_review_due,
    OutboxKind.KPI_MONTHLY: kpi_monthly,
    OutboxKind.HEALTH_DROP: health_drop,
}


async def render(rendering: Rendering, message: OutboxMessage) -> Rendered | None:
    try:
        renderer = RENDERERS[OutboxKind(message.kind)]
    except (ValueError, KeyError):
        raise Undeliverable(f"unknown outbox kind {message.kind!r}") from None
    return await renderer(rendering, message)
