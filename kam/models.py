"""The tables of kambot's domain (SQLAlchemy 2 declarative models)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive UTC times, PostgreSQL aware ones: always aware."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Tier(StrEnum):
    """The four tiers of KAM.md; companies label them apart."""

    KEY_ACCOUNT = "key_account"
    INTERNATIONAL_KEY_ACCOUNT = "international_key_account"
    STRATEGIC_KEY_ACCOUNT = "strategic_key_account"
    CORPORATE_STRATEGIC_KEY_ACCOUNT = "corporate_strategic_key_account"


class Role(StrEnum):
    MANAGER = "manager"
    MEMBER = "member"
    ADMIN = "admin"


class ContactKind(StrEnum):
    MEETING = "meeting"
    CALL = "call"
    VISIT = "visit"
    EMAIL = "email"
    EVENT = "event"


class DecisionCategory(StrEnum):
    PRICING = "pricing"
    CONTRACT = "contract"  # contracts and framework agreements
    SERVICE = "service"
    PRODUCT = "product"
    STRATEGY = "strategy"
    RESOURCES = "resources"
    OTHER = "other"


class StakeholderLevel(StrEnum):
    OPERATIONAL = "operational"
    MANAGEMENT = "management"
    EXECUTIVE = "executive"


class BuyingRole(StrEnum):
    """The buying-centre role a customer person plays in our deals (KAM.md)."""

    DECISION_MAKER = "decision_maker"
    ECONOMIC_BUYER = "economic_buyer"
    USER = "user"
    TECHNICAL_INFLUENCER = "technical_influencer"
    GATEKEEPER = "gatekeeper"
    CHAMPION = "champion"
    SPONSOR = "sponsor"


class Attitude(StrEnum):
    """Support level: how the person stands towards us."""

    MENTOR = "mentor"
    SUPPORTER = "supporter"
    NEUTRAL = "neutral"
    NON_SUPPORTER = "non_supporter"


class DecisionPower(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ItemKind(StrEnum):
    """What someone can be asked to acknowledge."""

    CONTACT = "contact"
    DECISION = "decision"
    PRICE_ACTION = "price_action"
    REVIEW = "review"


class FlagKind(StrEnum):
    """Facts the failure checks watch, and the conflicts they find (see kam/checks.py)."""

    PAID_SERVICE = "paid_service"
    CONCESSION = "concession"
    FRAMEWORK_AGREEMENT = "framework_agreement"
    FREE_AFTER_PAID = "free_after_paid"
    PARALLEL_FRAMEWORK = "parallel_framework"
    PRICE_RISK = "price_risk"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


def _enum(kind: type[StrEnum], name: str) -> Enum:
    return Enum(kind, name=name, native_enum=False, length=40, values_callable=lambda e: [m.value for m in e])


class Person(Base):
    """Someone on our side, known by their Entra object id."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Known from Teams activities, or resolved from the UPN when provisioning.
    aad_object_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    teams_user_id: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    upn: Mapped[str | None] = mapped_column(String(320), unique=True)
    # The person's 1:1 chat with the bot, where acknowledgements and reminders go.
    chat_id: Mapped[str | None] = mapped_column(String(400))
    # The language of the person's Teams client, for the cards the bot sends unasked.
    locale: Mapped[str | None] = mapped_column(String(20))
    time_zone: Mapped[str | None] = mapped_column(String(64))  # IANA name from the Teams client
    # The Entra tenant the person's Teams client was last seen in: their 1:1 chat is opened there only.
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    nudges_paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The weekly digest's day ("mon" ... "sun"), "off" for none; None: the tenant's default day.
    digest_day: Mapped[str | None] = mapped_column(String(3))
    # After-meeting nudges: when the calendar is next read (moved forward by the instance that claims it).
    calendar_due_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # Teams refused to open a 1:1 chat with them (not in a team where kambot is, no app of their own):
    # since when, and Teams' reason. Cleared when they are reached again.
    unreachable_since: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    unreachable_reason: Mapped[str | None] = mapped_column(String(300))


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    tier: Mapped[Tier] = mapped_column(_enum(Tier, "tier"))
    confidential: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    customer_domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    # False once the account left the account list: its channel is archived, its data kept.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    team_id: Mapped[str | None] = mapped_column(String(200))
    channel_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    channel_name: Mapped[str | None] = mapped_column(String(50))
    tabs_ready: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # A confidential account's channel that is not shared, while provisioning replaces it by a shared one: kept
    # until the new one exists (then archived), put back if it cannot be made.
    replaced_channel_id: Mapped[str | None] = mapped_column(String(200))
    archived_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The KA manager's communication rules for this account (kam.rules), on top of the tier's.
    rules: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The customer group (its parent account's name) this legal entity belongs to: the framework agreement and
    # price checks look across the group (kam.groups).
    customer_group: Mapped[str | None] = mapped_column(String(200), index=True)
    # The key account selection's criteria for this account: criterion -> 0..5 (kam.selection).
    scores: Mapped[dict[str, float] | None] = mapped_column(JSON)
    # When the KA manager was last told a plan review is due (once per due review).
    review_due_notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    # Loaded with the account: every use of an account asks who is on its team.
    members: Mapped[list[AccountMember]] = relationship(
        back_populates="account", cascade="all, delete-orphan", lazy="selectin"
    )
    # Not loaded with every account (most turns never look at them): kam.accounts.stakeholders_of.
    stakeholders: Mapped[list[Stakeholder]] = relationship(
        back_populates="account", cascade="all, delete-orphan", lazy="raise_on_sql", order_by="Stakeholder.name"
    )


class AccountMember(Base):
    __tablename__ = "account_members"
    __table_args__ = (UniqueConstraint("account_id", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    function: Mapped[str | None] = mapped_column(String(60))
    # When the KA managers were told that this member is not in the team holding the account's channel.
    missing_reported_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    account: Mapped[Account] = relationship(back_populates="members")
    person: Mapped[Person] = relationship(lazy="joined")


class Stakeholder(Base):
    """A person on the customer's side."""

    __tablename__ = "stakeholders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    function: Mapped[str | None] = mapped_column(String(100))
    level: Mapped[StakeholderLevel | None] = mapped_column(_enum(StakeholderLevel, "stakeholder_level"))
    buying_role: Mapped[BuyingRole | None] = mapped_column(_enum(BuyingRole, "buying_role"))
    attitude: Mapped[Attitude | None] = mapped_column(_enum(Attitude, "attitude"))  # the support level
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    email: Mapped[str | None] = mapped_column(String(320))  # lower-cased; how a CRM export names reports-to
    reports_to_id: Mapped[int | None] = mapped_column(ForeignKey("stakeholders.id", ondelete="SET NULL"))
    decision_power: Mapped[DecisionPower | None] = mapped_column(_enum(DecisionPower, "decision_power"))
    inner_circle: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    account: Mapped[Account] = relationship(back_populates="stakeholders")
    owner: Mapped[Person | None] = relationship(lazy="joined")


class StakeholderInfluence(Base):
    """Informal influence between two customer people: `influencer` sways `influenced` (not in the org chart)."""

    __tablename__ = "stakeholder_influences"
    __table_args__ = (UniqueConstraint("influencer_id", "influenced_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    influencer_id: Mapped[int] = mapped_column(ForeignKey("stakeholders.id", ondelete="CASCADE"))
    influenced_id: Mapped[int] = mapped_column(ForeignKey("stakeholders.id", ondelete="CASCADE"))


class RelationshipStrength(Base):
    """A hand-set strength (0-100) of one of our people's relationship with one customer person.

    It replaces the strength computed from the logged contacts until it is cleared.
    """

    __tablename__ = "relationship_strengths"
    __table_args__ = (UniqueConstraint("stakeholder_id", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stakeholder_id: Mapped[int] = mapped_column(ForeignKey("stakeholders.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    strength: Mapped[int] = mapped_column(Integer)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    set_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


contact_stakeholders = Table(
    "contact_stakeholders",
    Base.metadata,
    Column("contact_id", ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    Column("stakeholder_id", ForeignKey("stakeholders.id", ondelete="CASCADE"), primary_key=True),
)

contact_participants = Table(
    "contact_participants",
    Base.metadata,
    Column("contact_id", ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    Column("person_id", ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
)


class Contact(Base):
    """One logged customer contact."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    logged_by_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    met_on: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[ContactKind] = mapped_column(_enum(ContactKind, "contact_kind"))
    customer_people: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text)
    customer_asked: Mapped[str] = mapped_column(Text, default="")
    we_committed: Mapped[str] = mapped_column(Text, default="")
    next_steps: Mapped[str] = mapped_column(Text, default="")
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

    account: Mapped[Account] = relationship(lazy="joined")
    logged_by: Mapped[Person] = relationship(lazy="joined")
    stakeholders: Mapped[list[Stakeholder]] = relationship(secondary=contact_stakeholders, lazy="selectin")
    participants: Mapped[list[Person]] = relationship(secondary=contact_participants, lazy="selectin")


class Decision(Base):
    """A decision about the account that the team must speak about with one voice."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    logged_by_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[DecisionCategory] = mapped_column(_enum(DecisionCategory, "decision_category"))
    decision: Mapped[str] = mapped_column(Text)
    rationale: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(200))
    effective_on: Mapped[dt.date] = mapped_column(Date)
    scope: Mapped[str] = mapped_column(String(500), default="")
    communicator_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    communicate_by: Mapped[dt.date | None] = mapped_column(Date)
    # Logged by someone the rules do not allow to decide this: the KA manager must confirm it.
    needs_confirmation: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

    account: Mapped[Account] = relationship(lazy="joined")
    logged_by: Mapped[Person] = relationship(lazy="joined", foreign_keys=[logged_by_id])
    communicator: Mapped[Person | None] = relationship(lazy="joined", foreign_keys=[communicator_id])


class ConversationRef(Base):
    """Where the bot can reach a conversation again later (proactive messages)."""

    __tablename__ = "conversation_refs"

    conversation_id: Mapped[str] = mapped_column(String(400), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    service_url: Mapped[str] = mapped_column(String(500))
    conversation_type: Mapped[str | None] = mapped_column(String(40))
    team_id: Mapped[str | None] = mapped_column(String(200), index=True)
    bot_id: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Welcome(Base):
    """A place kambot has greeted: a channel, one person's 1:1 chat, a group chat. Its row is the claim, so
    the events that announce one installation together (and their repeats) greet once."""

    __tablename__ = "welcomes"

    place: Mapped[str] = mapped_column(String(400), primary_key=True)
    welcomed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CardMessage(Base):
    """A message the bot sent holding a form: the only messages a form's Action.Submit may update.

    Teams names the message to update in `replyToId`, which a client can set to anything;
    an update goes only to a message found here, in the same conversation, for the same form.
    """

    __tablename__ = "card_messages"

    conversation_id: Mapped[str] = mapped_column(String(400), primary_key=True)
    activity_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    card_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class SendSlot(Base):
    """One request to a rate-limited service (the Bot Connector), booked at a moment in a window that every
    instance shares: one row per limited key the request counts against (kam.send_slots)."""

    __tablename__ = "send_slots"
    __table_args__ = (Index("ix_send_slots_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(450))
    at: Mapped[float] = mapped_column(Float)  # seconds since the epoch, on the database's clock


class AppSecret(Base):
    """A secret every instance shares (the key that signs card data), made once by whichever starts first."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OutboxMessage(Base):
    """A message the bot owes someone, written in the same transaction as its cause.

    The row says *what* happened (kind + subject), not how it looks: the sender
    renders it when it sends, so kam/ stays free of Teams shapes.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    subject_id: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    status: Mapped[OutboxStatus] = mapped_column(
        _enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Due from then; a sender's lease moves it forward while the row is on its way (kam.outbox.claim_due).
    not_before: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    lease_id: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Acknowledgement(Base):
    """One person's duty to take note of one item, and whether they did.

    Written when the item is logged, from the rules in force then: a later change
    of the rules applies to later items, never silently to open ones.
    """

    __tablename__ = "acknowledgements"
    __table_args__ = (UniqueConstraint("account_id", "item_kind", "item_id", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    item_kind: Mapped[ItemKind] = mapped_column(_enum(ItemKind, "item_kind"))
    item_id: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    # False: someone the rules did not name, who acknowledged all the same.
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    remind_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    report_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reported_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # When the request reached its person's outbox batch (several within minutes go as one card).
    requested_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    person: Mapped[Person] = relationship(lazy="joined")


class Flag(Base):
    """What a failure check noted about an item: a fact to watch, or a conflict with an earlier item."""

    __tablename__ = "flags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[FlagKind] = mapped_column(_enum(FlagKind, "flag_kind"))
    item_kind: Mapped[ItemKind] = mapped_column(_enum(ItemKind, "item_kind"))
    item_id: Mapped[int] = mapped_column(Integer)
    owner_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    topic: Mapped[str] = mapped_column(String(300), default="")
    related_id: Mapped[int | None] = mapped_column(ForeignKey("flags.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Why the check fired, for the card: the service picked or named, the words matched (kam.checks).
    reason: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A conflict someone it names said is none: who, when and why; it stays, shown and counted.
    dismissed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    dismissed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    dismissed_reason: Mapped[str | None] = mapped_column(Text)

    owner: Mapped[Person] = relationship(lazy="joined", foreign_keys=[owner_id])
    related: Mapped[Flag | None] = relationship(remote_side=[id], lazy="joined", join_depth=1)
    dismissed_by: Mapped[Person | None] = relationship(lazy="joined", foreign_keys=[dismissed_by_id])


class PriceAction(Base):
    """A country's price action for all its customers, which key accounts' local buyers will see."""

    __tablename__ = "price_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    logged_by_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    logged_by: Mapped[Person] = relationship(lazy="joined")


class PlanVersion(Base):
    """One saved version of an account's key account plan; the newest is the plan in force."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("account_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    saved_by_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    saved_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    saved_by: Mapped[Person] = relationship(lazy="joined")


class Review(Base):
    """A plan review: owners update their objectives and actions; closing stores what was reviewed."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    due_on: Mapped[dt.date] = mapped_column(Date)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    plan_version: Mapped[int | None] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    started_by: Mapped[Person] = relationship(lazy="joined", foreign_keys=[started_by_id])
    updates: Mapped[list[ReviewUpdate]] = relationship(
        back_populates="review", lazy="selectin", order_by="ReviewUpdate.id", cascade="all, delete-orphan"
    )


class ReviewUpdate(Base):
    """One plan item in a review, as its owner reported it (prefilled with the plan's values)."""

    __tablename__ = "review_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    progress: Mapped[int] = mapped_column(Integer, default=0)
    comment: Mapped[str] = mapped_column(Text, default="")
    needs_decision: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    review: Mapped[Review] = relationship(back_populates="updates")
    owner: Mapped[Person] = relationship(lazy="joined")


class NudgeSent(Base):
    """A weekly nudge that went (or is going) to one member about one account: never twice in a week."""

    __tablename__ = "nudges_sent"
    __table_args__ = (UniqueConstraint("person_id", "account_id", "week"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    week: Mapped[str] = mapped_column(String(10))  # ISO year and week in the person's time zone, e.g. 2026-W47
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When the member logged something for the account after being nudged (the nudge was answered).
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class MeetingNudge(Base):
    """ "You met the customer, log it?" for one meeting and one of our attendees: never twice."""

    __tablename__ = "meeting_nudges"
    __table_args__ = (UniqueConstraint("person_id", "meeting_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    # The meeting's iCalUId: the same in every attendee's calendar, its own for each occurrence of a series.
    meeting_key: Mapped[str] = mapped_column(String(400))
    subject: Mapped[str] = mapped_column(String(255), default="")
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    customer_people: Mapped[list[str]] = mapped_column(JSON, default=list)
    colleague_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # our other attendees on the account team
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    answer: Mapped[str | None] = mapped_column(String(20))  # "logged" or "not_relevant"
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    person: Mapped[Person] = relationship(lazy="joined")


class DigestSent(Base):
    """The weekly digest that went (or is going) to one person: never twice in a week, whichever instance claims it."""

    __tablename__ = "digests_sent"
    __table_args__ = (UniqueConstraint("person_id", "week"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    week: Mapped[str] = mapped_column(String(10))  # ISO year and week in the person's time zone
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    person: Mapped[Person] = relationship(lazy="joined")


class MeetingBrief(Base):
    """The brief before a customer meeting for one of our attendees: never twice."""

    __tablename__ = "meeting_briefs"
    __table_args__ = (UniqueConstraint("person_id", "meeting_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    meeting_key: Mapped[str] = mapped_column(String(400))  # the iCalUId, as for MeetingNudge
    subject: Mapped[str] = mapped_column(String(255), default="")
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # The customer's attendees as the calendar names them: [{"name": ..., "address": ...}].
    customer_attendees: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    person: Mapped[Person] = relationship(lazy="joined")


class ResultFigures(Base):
    """What an account brought in one year, as the company reports it (imported, or entered in the Plan tab):
    the results side of the KPIs (kam.kpis) and of the dependency risk (kam.dependency)."""

    __tablename__ = "result_figures"
    __table_args__ = (UniqueConstraint("account_id", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    revenue: Mapped[float | None] = mapped_column(Float)
    margin: Mapped[float | None] = mapped_column(Float)  # as a share of revenue, 0..1
    potential: Mapped[float | None] = mapped_column(Float)  # the customer's whole demand we could serve
    share_of_wallet: Mapped[float | None] = mapped_column(Float)  # 0..1
    source: Mapped[str] = mapped_column(String(20), default="import")  # "import" or "plan" (entered in the tab)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class CompanyFigures(Base):
    """The company's own total per year: the base of "key accounts' share of revenue"."""

    __tablename__ = "company_figures"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    revenue: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class CandidateKind(StrEnum):
    FUTURE_KEY_ACCOUNT = "future_key_account"
    ACQUISITION = "acquisition"
    WIN_BACK = "win_back"


class Candidate(Base):
    """A customer scored for the key account list before it is on it: a future key account, an acquisition or a
    win-back target (kam.selection)."""

    __tablename__ = "candidates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[CandidateKind] = mapped_column(_enum(CandidateKind, "candidate_kind"))
    notes: Mapped[str] = mapped_column(Text, default="")
    scores: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)  # criterion -> 0..5
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default="open")  # "open", "entered", "dropped"
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ListReview(Base):
    """A review of the key account list by the head of KAM: proposals, the KA managers' comments, decisions."""

    __tablename__ = "list_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    comments_by: Mapped[dt.date] = mapped_column(Date)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))

    proposals: Mapped[list[ListReviewProposal]] = relationship(
        back_populates="review", lazy="selectin", order_by="ListReviewProposal.id"
    )


class ListReviewProposal(Base):
    """One proposal of a list review: an entry (a candidate), an exit, a tier change, or keep as is."""

    __tablename__ = "list_review_proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("list_reviews.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"))
    proposal: Mapped[str] = mapped_column(String(20))  # "enter", "exit", "tier", "keep"
    tier: Mapped[Tier | None] = mapped_column(_enum(Tier, "tier"))  # the tier proposed (enter, tier)
    score: Mapped[float | None] = mapped_column(Float)
    why: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the scores and KPIs behind it
    comment: Mapped[str | None] = mapped_column(Text)  # the KA manager's
    commented_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    commented_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decision: Mapped[str | None] = mapped_column(String(20))  # "accepted", "rejected"
    decided_tier: Mapped[Tier | None] = mapped_column(_enum(Tier, "tier"))

    review: Mapped[ListReview] = relationship(back_populates="proposals")


class KpiCardSent(Base):
    """The monthly KPI card that went to one person: never twice in a month."""

    __tablename__ = "kpi_cards_sent"
    __table_args__ = (UniqueConstraint("person_id", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AccountHealth(Base):
    """An account's health score on one day, with its parts: the trend, and what a drop is compared with."""

    __tablename__ = "account_health"
    __table_args__ = (UniqueConstraint("account_id", "on_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    on_date: Mapped[dt.date] = mapped_column(Date)
    score: Mapped[int] = mapped_column(Integer)
    parts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    drop_told_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
