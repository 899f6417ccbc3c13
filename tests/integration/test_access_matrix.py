"""The access matrix, generated from the routing tables: every card verb, command, invoke and
tab route, for every kind of caller, in every kind of conversation, with ids of this account,
of another account, of nothing and of the wrong kind.

The expected outcome of each cell comes from the policy as README states it ("Security
model"), written out here on its own (EXPECTED_ROLES, OWNERS), not from kam.access: a change
to the policy that the documentation does not make fails here. A refused cell must show the
refusal text (the same for "does not exist" and "not yours", naming no account) and leave
every table of account data as it was. Forms are resealed for the caller (as if kambot had
issued them to them), so that each cell reaches the policy behind the signature; the
signature itself is tested in test_trust.py.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import select

from bot.routes import COMMANDS, INVOKE_ROUTES, VERB_ROUTES
from bot.settings import Settings
from bot.tabs.pages import TAB_ROUTES
from cards.i18n import Texts
from kam.access import RULES, Act
from kam.demo import TENANT_ID
from kam.models import (
    Base,
    Contact,
    ContactKind,
    Decision,
    DecisionCategory,
    Flag,
    FlagKind,
    ItemKind,
    ListReview,
    ListReviewProposal,
    MeetingNudge,
    Person,
    Review,
    ReviewUpdate,
    Stakeholder,
)
from kam.people import Caller, find_person
from tests.support.fakes.connector import ConnectorFake
from tests.support.fakes.entra import EntraFake
from tests.support.flows import tab_settings
from tests.support.harness import RunningBot, migrate_and_seed
from tests.support.teams import ADMIN, CONTOSO_CHANNEL, FABRIKAM_CHANNEL, GROUP_CHAT, MEETING_CHAT, USERS

# Hundreds of turns a second go into a handful of conversations here, which no person does; the
# conversations' windows are what tests/integration/test_pacing.py and test_workers.py check.
UNTHROTTLED: tuple[tuple[int, float], ...] = ()

pytestmark = pytest.mark.asyncio(loop_scope="module")

T = Texts("en")
REFUSED = T("error.refused")
REFUSALS = {REFUSED, T("error.not_your_form"), *(T(f"error.not_allowed.{act.value}") for act in Act)}
CONTOSO, FABRIKAM, MISSING = 1, 2, 999_999
ACCOUNT_NAMES = {CONTOSO: "Contoso Pharma", FABRIKAM: "Fabrikam Logistics"}
CHANNEL_OF = {CONTOSO_CHANNEL: CONTOSO, FABRIKAM_CHANNEL: FABRIKAM}

# The callers: unknown to kambot, on no team, on another account's team (Fabrikam), a member
# of Contoso (and KA manager of Fabrikam), Contoso's KA manager, and a kambot admin on no team.
CALLERS = ("sam", "lynne", "isaiah", "alex", "megan", "diego")
PLACES = ("personal", GROUP_CHAT, MEETING_CHAT, CONTOSO_CHANNEL, FABRIKAM_CHANNEL)
# The demo portfolio's account teams (kam/demo.py), as the policy reads them.
EXPECTED_ROLES = {
    ("megan", CONTOSO): "manager",
    ("alex", CONTOSO): "member",
    ("adele", CONTOSO): "member",
    ("patti", CONTOSO): "member",
    ("alex", FABRIKAM): "manager",
    ("isaiah", FABRIKAM): "member",
}
ADMINS = {"diego"}
HEADS = {"diego"}  # the head of KAM (KAMBOT_HEAD_OF_KAM_AAD_IDS): on no team
KNOWN = {"lynne", "isaiah", "alex", "megan", "diego", "adele", "patti"}

TODAY = dt.date.today()
CONTACT = {
    "stakeholders": "",
    "customer_people": "Dr. Hanna Berger",
    "met_on": TODAY.isoformat(),
    "kind": "visit",
    "summary": "A matrix visit.",
    "customer_asked": "",
    "we_committed": "",
    "next_steps": "",
    "confidential": "false",
}
DECISION = {
    "title": "Matrix decision",
    "category": "service",
    "decision": "Saturday deliveries.",
    "decided_by": "Megan Bowen",
    "effective_on": TODAY.isoformat(),
}


@dataclass(frozen=True)
class Seeded:
    """The ids of what each account holds, and who owns what (flags, review items, nudges)."""

    contact: dict[int, int]
    decision: dict[int, int]
    agreement: dict[int, int]
    concession: dict[int, int]
    conflict: dict[int, int]
    review: dict[int, int]
    nudge: dict[int, int]
    proposal: dict[int, int]  # a list review's proposal about the account
    list_review: dict[int, int]  # the (one) list review, under each account
    stakeholder: dict[int, int]  # a customer person of the account
    tie_person: dict[int, int]  # whose relationship with that person the strength card names (OWNERS' "tie")


OWNERS = {  # who owns the seeded agreement, review item and nudge of each account
    ("agreement", CONTOSO): "adele",
    ("agreement", FABRIKAM): "isaiah",
    # A conflict names two owners: who logged the concession (alex, isaiah) and who the paid service (adele, isaiah).
    ("conflict", CONTOSO): ("alex", "adele"),
    ("conflict", FABRIKAM): ("isaiah",),
    ("review", CONTOSO): "alex",
    ("review", FABRIKAM): "isaiah",
    ("nudge", CONTOSO): "alex",
    ("nudge", FABRIKAM): "isaiah",
    ("tie", CONTOSO): "alex",
    ("tie", FABRIKAM): "isaiah",
}


async def seed_items(bot: RunningBot) -> Seeded:
    """On each account: a contact, a decision, a framework agreement and a concession flag on
    it, a conflict of the concession with a paid service agreed at the contact, an open review with
    one item, and a meeting nudge; and the admin, known to kambot."""
    ids: dict[str, dict[int, int]] = {
        k: {}
        for k in (
            "contact",
            "decision",
            "agreement",
            "concession",
            "conflict",
            "review",
            "nudge",
            "proposal",
            "stakeholder",
            "tie_person",
        )
    }
    async with bot.db.transaction() as session:
        session.add(Person(aad_object_id=ADMIN.aad_object_id, teams_user_id=ADMIN.teams_user_id, name=ADMIN.name))
        people = {u: await find_person(session, Caller(USERS[u].aad_object_id, None, "")) for u in KNOWN - ADMINS}
        for account, author in ((CONTOSO, "alex"), (FABRIKAM, "isaiah")):
            by = people[author]
            assert by is not None
            contact = Contact(
                account_id=account,
                logged_by_id=by.id,
                idempotency_key=f"matrix-contact-{account}",
                met_on=TODAY,
                kind=ContactKind.VISIT,
                summary="Seeded",
            )
            decision = Decision(
                account_id=account,
                logged_by_id=by.id,
                idempotency_key=f"matrix-decision-{account}",
                title="Seeded",
                category=DecisionCategory.SERVICE,
                decision="Seeded",
                decided_by="Seeded",
                effective_on=TODAY,
            )
            session.add_all([contact, decision])
            await session.flush()
            flags = [
                Flag(
                    account_id=account,
                    kind=kind,
                    item_kind=ItemKind.DECISION,
                    item_id=decision.id,
                    owner_id=people[OWNERS[("agreement", account)]].id,  # type: ignore[union-attr]
                )
                for kind in (FlagKind.FRAMEWORK_AGREEMENT, FlagKind.CONCESSION)
            ]
            paid = Flag(
                account_id=account,
                kind=FlagKind.PAID_SERVICE,
                item_kind=ItemKind.CONTACT,
                item_id=contact.id,
                owner_id=people[OWNERS[("agreement", account)]].id,  # type: ignore[union-attr]
                topic="Seeded service",
            )
            conflict = Flag(
                account_id=account,
                kind=FlagKind.FREE_AFTER_PAID,
                item_kind=ItemKind.DECISION,
                item_id=decision.id,
                owner_id=by.id,
                topic="Seeded service",
                related=paid,
            )
            flags.append(conflict)
            review = Review(account_id=account, started_by_id=by.id, due_on=TODAY + dt.timedelta(days=7))
            session.add_all([*flags, paid, review])
            await session.flush()
            session.add(
                ReviewUpdate(
                    review_id=review.id,
                    item_id=f"item{account}",
                    owner_id=people[OWNERS[("review", account)]].id,  # type: ignore[union-attr]
                    title="Seeded objective",
                    status="in_progress",
                )
            )
            now = dt.datetime.now(dt.UTC)
            nudge = MeetingNudge(
                person_id=people[OWNERS[("nudge", account)]].id,  # type: ignore[union-attr]
                account_id=account,
                meeting_key=f"matrix-{account}",
                subject="Seeded meeting",
                starts_at=now - dt.timedelta(hours=2),
                ends_at=now - dt.timedelta(hours=1),
            )
            stakeholder = Stakeholder(account_id=account, name=f"Matrix Stakeholder {account}")
            session.add_all([nudge, stakeholder])
            await session.flush()
            ids["stakeholder"][account] = stakeholder.id
            ids["tie_person"][account] = people[OWNERS[("tie", account)]].id  # type: ignore[union-attr]
            for name, row in (
                ("contact", contact),
                ("decision", decision),
                ("agreement", flags[0]),
                ("concession", flags[1]),
                ("conflict", flags[2]),
                ("review", review),
                ("nudge", nudge),
            ):
                ids[name][account] = row.id
        head = await find_person(session, Caller(ADMIN.aad_object_id, None, ""))
        assert head is not None
        list_review = ListReview(started_by_id=head.id, comments_by=TODAY + dt.timedelta(days=14))
        session.add(list_review)
        await session.flush()
        for account in (CONTOSO, FABRIKAM):
            proposal = ListReviewProposal(review_id=list_review.id, account_id=account, proposal="exit", score=1.0)
            session.add(proposal)
            await session.flush()
            ids["proposal"][account] = proposal.id
        ids["list_review"] = {CONTOSO: list_review.id, FABRIKAM: list_review.id}
    return Seeded(**ids)


# Tables whose rows a turn may touch without changing account data: who is where, which card is in
# which message, the card key; and the outbox's delivery columns (a refused turn sends nothing new).
NOT_ACCOUNT_DATA = {"people", "conversation_refs", "card_messages", "app_secrets", "alembic_version", "send_slots"}


async def fingerprint(bot: RunningBot) -> dict[str, list[tuple[Any, ...]]]:
    await bot.settle()
    tables = [t for t in Base.metadata.sorted_tables if t.name not in NOT_ACCOUNT_DATA]
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with bot.db.transaction() as session:
        for table in tables:
            columns = [c for c in table.columns if table.name != "outbox" or c.name in ("id", "kind", "subject_id")]
            rows = await session.execute(select(*columns).order_by(*table.primary_key.columns))
            found[table.name] = [tuple(r) for r in rows]
    return found


class Snapshots:
    """Account data as it is now; read again only when SQLite says another connection committed
    (PRAGMA data_version), so that thousands of refused cells stay cheap to check."""

    def __init__(self, bot: RunningBot, path: str) -> None:
        self.bot = bot
        self._watch = sqlite3.connect(path, isolation_level=None)
        self._version: int | None = None
        self._last: dict[str, list[tuple[Any, ...]]] = {}

    async def now(self) -> dict[str, list[tuple[Any, ...]]]:
        version = self._watch.execute("PRAGMA data_version").fetchone()[0]
        if version != self._version:
            self._last = await fingerprint(self.bot)
            self._version = self._watch.execute("PRAGMA data_version").fetchone()[0]
        return self._last

    def close(self) -> None:
        self._watch.close()


# --- what the policy promises (README, "Security model"), cell by cell -----------------------


@dataclass(frozen=True)
class Expect:
    outcome: str  # "allowed", "refused" (the one answer for missing and not yours), "not_allowed"
    act: Act | None = None

    def describe(self) -> str:
        return self.outcome + (f" ({self.act.value})" if self.act and self.outcome == "not_allowed" else "")


# Whoever adds a key account becomes its KA manager: accounts the matrix creates join the teams.
ROLES: dict[tuple[str, int | str], str] = dict(EXPECTED_ROLES)  # type: ignore[arg-type]


def role(user: str, account: int) -> str | None:
    return ROLES.get((user, account))


def accounts_of(user: str) -> list[int | str]:
    return [a for (u, a) in ROLES if u == user]


def about_account(user: str, act: Act, account: int, owner: str | tuple[str, ...] | None = None) -> Expect:
    """An act on one account, by its team: the role (or ownership) decides; outsiders are refused."""
    if act == Act.SCORE_ACCOUNT and user in HEADS:
        return Expect("allowed")  # the head of KAM scores any account
    mine = role(user, account)
    if mine is None:
        return Expect("refused")
    if act in (Act.VIEW, Act.EXPORT, Act.LOG, Act.ACKNOWLEDGE, Act.EDIT_PLAN):
        return Expect("allowed")
    if act in (Act.MANAGE, Act.EDIT_RESULTS):
        return Expect("allowed" if mine == "manager" else "not_allowed", act)
    if act in (Act.COMMENT_LIST_REVIEW, Act.SCORE_ACCOUNT):
        return Expect("allowed" if mine == "manager" else "not_allowed", act)
    if act in (Act.END_AGREEMENT, Act.SET_STRENGTH):
        return Expect("allowed" if mine == "manager" or user == owner else "not_allowed", act)
    if act == Act.DISMISS_CONFLICT:
        return Expect("allowed" if mine == "manager" or user in (owner or ()) else "not_allowed", act)
    if act in (Act.UPDATE_REVIEW, Act.ANSWER_NUDGE):
        return Expect("allowed" if user == owner else "not_allowed", act)
    raise AssertionError(f"no expectation for {act}")


def about_caller(user: str, act: Act) -> Expect:
    """An act about no one account: what the caller is decides."""
    if act == Act.USE:
        return Expect("allowed")
    on_a_team = set(accounts_of(user))
    manages = {a for (u, a), r in ROLES.items() if u == user and r == "manager"}
    allowed = {
        Act.LOG_PRICE_ACTION: bool(on_a_team),
        Act.CREATE_ACCOUNT: bool(manages) or user in ADMINS,
        Act.PROVISION: user in ADMINS,
        Act.VIEW_PORTFOLIO: bool(manages) or user in HEADS,
        Act.RUN_LIST_REVIEW: user in HEADS,
        Act.RECORD_CANDIDATE: bool(manages) or user in HEADS,
    }[act]
    if allowed:
        return Expect("allowed")
    return Expect("not_allowed" if user in KNOWN else "refused", act)


# --- card verbs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerbSpec:
    """How to name a subject for one verb: data for an account (and its item), by id variant."""

    data: Callable[[Seeded, str, int], dict[str, Any] | None]
    owner_kind: str | None = None  # the seeded thing whose owner the policy asks about
    subject: str = "account"  # "account", "item" (has a kind), "none" (about the caller)


def _account(
    extra: dict[str, Any] | None = None, as_input: bool = False
) -> Callable[[Seeded, str, int], dict[str, Any]]:
    def build(seeded: Seeded, variant: str, account: int) -> dict[str, Any] | None:
        if variant in ("crossed", "wrong_kind"):
            return None
        named = MISSING if variant == "missing" else account
        return {"account_id": str(named) if as_input else named, **(extra or {})}

    return build


def _thing(kind: str, key: str, wrong: str | None = None, **extra: Any) -> Callable[[Seeded, str, int], dict[str, Any]]:
    """`kind`'s seeded id of the account; crossed: this account with the other's id; wrong_kind: an
    id of this account's `wrong` thing under `key` (a concession flag where an agreement is named)."""

    def build(seeded: Seeded, variant: str, account: int) -> dict[str, Any] | None:
        ids = getattr(seeded, kind)
        other = FABRIKAM if account == CONTOSO else CONTOSO
        if variant == "wrong_kind":
            if wrong is None:
                return None
            return {"account_id": account, key: getattr(seeded, wrong)[account], **extra}
        item = {"crossed": ids[other], "missing": MISSING}.get(variant, ids[account])
        return {"account_id": account, key: item, **extra}

    return build


def _item(kind: ItemKind) -> Callable[[Seeded, str, int], dict[str, Any]]:
    def build(seeded: Seeded, variant: str, account: int) -> dict[str, Any] | None:
        ids = getattr(seeded, kind.value)
        other = FABRIKAM if account == CONTOSO else CONTOSO
        if variant == "wrong_kind":  # a contact's id, named as a price action
            return {"account_id": account, "item_kind": ItemKind.PRICE_ACTION.value, "item_id": ids[account]}
        item = {"crossed": ids[other], "missing": MISSING}.get(variant, ids[account])
        return {"account_id": account, "item_kind": kind.value, "item_id": item}

    return build


def _in_batch(kind: ItemKind) -> Callable[[Seeded, str, int], dict[str, Any] | None]:
    """An item's button on a card of several requests: the item, and the card it is on."""

    def build(seeded: Seeded, variant: str, account: int) -> dict[str, Any] | None:
        return {**(_item(kind)(seeded, variant, account) or {}), "batch": MISSING}

    return build


def _batch(seeded: Seeded, variant: str, account: int) -> dict[str, Any] | None:
    """A card of several requests, refreshed: about the caller's own requests on it."""
    return {"batch": MISSING} if variant == "none" else None


def _nudge(seeded: Seeded, variant: str, account: int) -> dict[str, Any] | None:
    if variant in ("crossed", "wrong_kind"):
        return None
    return {"nudge_id": MISSING if variant == "missing" else seeded.nudge[account]}


def _dismissal(seeded: Seeded, variant: str, account: int) -> dict[str, Any] | None:
    """A conflict (or, wrong_kind, a framework agreement) named with its account, and the reason typed for it."""
    named = _thing("conflict", "flag_id", wrong="agreement")(seeded, variant, account)
    return {**named, f"dismiss_reason_{named['flag_id']}": "Matrix: not a conflict"}


_names = itertools.count(1)


def _tie(seeded: Seeded, variant: str, account: int) -> dict[str, Any] | None:
    """A customer person of the account and whose relationship with them: the account's seeded "tie" owner."""
    named = _thing("stakeholder", "stakeholder_id")(seeded, variant, account)
    return {**named, "person": str(seeded.tie_person[account]), "strength": "medium"} if named else None


def _list_review(seeded: Seeded, variant: str, account: int) -> dict[str, Any] | None:
    """The list review: about no one account, the head of KAM decides it (nothing chosen on the card here)."""
    return {"review_id": seeded.list_review[CONTOSO]} if variant == "none" else None


def _unique(field: str, prefix: str, **extra: Any) -> Callable[[Seeded, str, int], dict[str, Any]]:
    def build(seeded: Seeded, variant: str, account: int) -> dict[str, Any] | None:
        return {field: f"{prefix} {next(_names)}", **extra} if variant == "none" else None

    return build


VERB_SPECS: dict[str, VerbSpec] = {
    "contact.pick": VerbSpec(_account(as_input=True)),
    "contact.save": VerbSpec(_account(CONTACT)),
    "account.create": VerbSpec(_unique("name", "Matrix Corp", tier="key_account"), subject="none"),
    "decision.pick": VerbSpec(_account(as_input=True)),
    "decision.save": VerbSpec(_account(DECISION)),
    "timeline.page": VerbSpec(_account({"offset": 0})),
    "stakeholder.pick": VerbSpec(_account(as_input=True)),
    "stakeholder.save": VerbSpec(_account({"name": "Matrix Person", "title": "Buyer"})),
    "stakeholder.edit": VerbSpec(_thing("stakeholder", "stakeholder_id", name="Matrix Edited", title="Buyer")),
    "strength.save": VerbSpec(_tie, owner_kind="tie"),
    "ack": VerbSpec(_item(ItemKind.CONTACT), subject="item"),
    "ack.view": VerbSpec(_item(ItemKind.DECISION), subject="item"),
    "ack.batch": VerbSpec(_in_batch(ItemKind.DECISION), subject="item"),
    "ack.batch.view": VerbSpec(_batch, subject="none"),
    "agreement.end": VerbSpec(_thing("agreement", "flag_id", wrong="concession"), owner_kind="agreement"),
    "conflict.dismiss": VerbSpec(_dismissal, owner_kind="conflict"),
    "rules.save": VerbSpec(_account({"remind_after_hours": "24"})),
    "price_action.save": VerbSpec(
        _unique("title", "Matrix bargain", countries="de", starts_on=TODAY.isoformat()), subject="none"
    ),
    "review.start": VerbSpec(_account({"due_on": (TODAY + dt.timedelta(days=7)).isoformat()})),
    "review.update": VerbSpec(_thing("review", "review_id"), owner_kind="review"),
    "review.remind": VerbSpec(_thing("review", "review_id")),
    "review.close": VerbSpec(_thing("review", "review_id")),
    "nudge.meeting.not_relevant": VerbSpec(_nudge, owner_kind="nudge"),
    "listreview.comment": VerbSpec(_thing("proposal", "proposal_id", comment_1="Matrix comment")),
    "listreview.decide": VerbSpec(_list_review, subject="none"),
    "score.save": VerbSpec(_account({"strategic_importance": "4"})),
    "candidate.save": VerbSpec(_unique("name", "Matrix Candidate", kind="acquisition"), subject="none"),
}
# (id variant, account): each account's own ids (from a caller's side, this account's and another's),
# an id of nothing, Contoso's id with Fabrikam's item, and an id of the wrong kind.
VARIANTS = (("real", CONTOSO), ("real", FABRIKAM), ("missing", CONTOSO), ("crossed", CONTOSO), ("wrong_kind", CONTOSO))


def expect_verb(route_act: Act, spec: VerbSpec, user: str, place: str, variant: str, account: int) -> Expect:
    if spec.subject == "none":
        return about_caller(user, route_act)
    if variant != "real":
        return Expect("refused")
    channel_account = CHANNEL_OF.get(place)
    if channel_account is not None and channel_account != account:
        return Expect("refused")  # another account's channel: nothing of this one goes there
    owner = OWNERS.get((spec.owner_kind, account)) if spec.owner_kind else None
    return about_account(user, route_act, account, owner)


def reply_text(reply: Any) -> tuple[str, bool]:
    """What the user reads, and whether it is a card (an invoke's answer)."""
    assert reply.status == 200, reply
    body = reply.body
    if body.get("type") == "application/vnd.microsoft.activity.message":
        return str(body["value"]), False
    return "", True


def check(expect: Expect, said: str, is_card: bool, where: str) -> str | None:
    """None when the user saw what the policy promises; else what went wrong."""
    if expect.outcome == "allowed":
        return None if is_card or said not in REFUSALS else f"{where}: refused ({said!r}), expected allowed"
    wanted = REFUSED if expect.outcome == "refused" else T(f"error.not_allowed.{expect.act.value}")  # type: ignore[union-attr]
    if said != wanted:
        return f"{where}: saw {'a card' if is_card else repr(said)}, expected {expect.describe()}"
    return None


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def matrix_bot(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[RunningBot, Seeded, Snapshots]]:
    path = str(tmp_path_factory.mktemp("matrix") / "kambot.db")
    database = f"sqlite+aiosqlite:///{path}"
    await migrate_and_seed(database)
    connector = await ConnectorFake(thread_windows=UNTHROTTLED).start()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=database,
        nudge_weekday="off",
        background_jobs=False,
        warm_figures=False,  # it records the day's health scores at start-up: rows no cell of the matrix wrote
        admin_aad_ids=[ADMIN.aad_object_id],
        head_of_kam_aad_ids=[USERS[head].aad_object_id for head in HEADS],
    )
    bot = await RunningBot(settings, connector).start()
    seeded = await seed_items(bot)
    snapshots = Snapshots(bot, path)
    yield bot, seeded, snapshots
    snapshots.close()
    await bot.stop()
    await connector.stop()


@pytest.mark.asyncio(loop_scope="module")
async def test_every_route_has_a_row_in_the_matrix() -> None:
    """A verb, command, invoke or tab route added without deciding its expectations fails here."""
    assert {r.verb for r in VERB_ROUTES} == set(VERB_SPECS)
    assert {r.key for r in COMMANDS} == set(COMMAND_TEXTS)
    assert {r.name for r in INVOKE_ROUTES} == set(INVOKE_SPECS)
    assert {(r.method, r.path) for r in TAB_ROUTES if r.act is not None} == set(TAB_SPECS)
    assert {(r.method, r.path) for r in TAB_ROUTES if r.act is None} == PUBLIC_TAB_ROUTES
    assert all(r.act is not None for r in VERB_ROUTES) and all(r.act is not None for r in COMMANDS)


async def test_card_verbs(matrix_bot: tuple[RunningBot, Seeded, Snapshots]) -> None:
    bot, seeded, snapshots = matrix_bot
    problems: list[str] = []
    cells = 0
    for route in VERB_ROUTES:
        spec = VERB_SPECS[route.verb]
        variants = (("none", CONTOSO),) if spec.subject == "none" else VARIANTS
        for (variant, account), user, place in itertools.product(variants, CALLERS, PLACES):
            data = spec.data(seeded, variant, account)
            if data is None:
                continue
            expect = expect_verb(route.act, spec, user, place, variant, account)
            before = await snapshots.now() if expect.outcome != "allowed" else None
            value = bot.reseal({"verb": route.verb, **data}, user)
            said, is_card = reply_text(await bot.send(bot.teams.execute(value, user=user, where=place)))
            where = f"{route.verb} {variant} account={account} by {user} in {place}"
            cells += 1
            problem = check(expect, said, is_card, where)
            if problem is None and before is not None:
                if await snapshots.now() != before:
                    problem = f"{where}: refused, but account data changed"
                elif role(user, account) is None and any(n in said for n in ACCOUNT_NAMES.values()):
                    problem = f"{where}: the refusal names an account"
            if problem:
                problems.append(problem)
            if route.verb == "account.create" and is_card and expect.outcome == "allowed":
                ROLES[(user, data["name"])] = "manager"
    assert cells > 1500, cells
    assert not problems, f"{len(problems)} of {cells} cells:\n" + "\n".join(problems[:40])


# --- commands ----------------------------------------------------------------------------------

COMMAND_TEXTS = {
    "command.help": "help",
    "command.log_contact": "log contact",
    "command.log_decision": "log decision",
    "command.log_price_action": "log price action",
    "command.rules": "rules",
    "command.review_plan": "review plan",
    "command.pause_nudges": "pause nudges",
    "command.resume_nudges": "resume nudges",
    "command.digest": "digest",
    "command.accounts": "accounts",
    "command.new_account": "new account",
    "command.provision": "provision",
    "command.timeline": "timeline",
    "command.add_stakeholder": "add stakeholder",
    "command.edit_stakeholder": "edit stakeholder matrix",
    "command.relationship": "relationship matrix",
    "command.stakeholders": "stakeholders",
    "command.list_review": "list review",
    "command.score": "score",
    "command.candidate": "candidate",
}


def expect_command(act: Act, about: bool, user: str, place: str, purpose: str = "") -> tuple[Expect, str | None]:
    """(expectation, the exact text expected instead of a refusal, if any: for someone on no team, in
    the words of the command, its `purpose`)."""
    if not about:
        return about_caller(user, act), None
    channel_account = CHANNEL_OF.get(place)
    if channel_account is not None:
        return about_account(user, act, channel_account), None
    mine = accounts_of(user)
    if not mine:
        return Expect("allowed"), T(f"error.no_accounts.{purpose}" if purpose else "error.no_accounts")
    outcomes = [about_account(user, act, a).outcome for a in mine]  # type: ignore[arg-type]
    return (Expect("allowed") if "allowed" in outcomes else Expect("not_allowed", act)), None


def bot_said(connector: ConnectorFake, since: int) -> tuple[str, bool]:
    new = connector.recorded[since:]
    assert new, "the bot said nothing"
    return " ".join(str(r.activity.get("text") or "") for r in new).strip(), any(r.cards for r in new)


async def test_commands(matrix_bot: tuple[RunningBot, Seeded, Snapshots]) -> None:
    bot, _, snapshots = matrix_bot
    problems: list[str] = []
    cells = 0
    for route, user, place in itertools.product(COMMANDS, CALLERS, PLACES):
        purpose = route.key.removeprefix("command.")
        expect, instead = expect_command(route.act, route.about_account, user, place, purpose)
        before = await snapshots.now()
        since = len(bot.connector.recorded)
        await bot.send(bot.teams.message(COMMAND_TEXTS[route.key], user=user, where=place))
        said, is_card = bot_said(bot.connector, since)
        where = f"{COMMAND_TEXTS[route.key]!r} by {user} in {place}"
        cells += 1
        if instead is not None:
            problem = None if said == instead else f"{where}: saw {said!r}, expected {instead!r}"
        else:
            problem = check(expect, said, is_card and not said, where)
        if problem is None and expect.outcome != "allowed" and await snapshots.now() != before:
            problem = f"{where}: refused, but account data changed"
        if problem is None and user in ("sam", "lynne") and any(n in said for n in ACCOUNT_NAMES.values()):
            problem = f"{where}: an outsider was told an account's name"
        if problem:
            problems.append(problem)
    assert cells == len(COMMANDS) * len(CALLERS) * len(PLACES)
    assert not problems, f"{len(problems)} of {cells} cells:\n" + "\n".join(problems[:40])


# --- invokes: the search, the message action and link unfurling -------------------------------

INVOKE_SPECS = {"composeExtension/query", "composeExtension/fetchTask", "composeExtension/queryLink"}


def visible_accounts(user: str, place: str) -> set[str]:
    """The accounts a search may offer: the channel's if the caller is on its team, else their own."""
    channel_account = CHANNEL_OF.get(place)
    if channel_account is not None:
        return {ACCOUNT_NAMES[channel_account]} if role(user, channel_account) else set()
    return {ACCOUNT_NAMES.get(a, a) for a in accounts_of(user)}  # type: ignore[call-overload]


def pasted_links(base: str) -> list[tuple[str, int | None]]:
    """(link, the account it names): each account's link and a tab's, one of no account, one not ours."""
    return [
        (f"{base}/accounts/{CONTOSO}", CONTOSO),
        (f"{base}/accounts/{FABRIKAM}", FABRIKAM),
        (f"{base}/tabs/log?account={CONTOSO}", CONTOSO),
        (f"{base}/accounts/{MISSING}", MISSING),
        (f"https://elsewhere.example/accounts/{CONTOSO}", None),
    ]


def expect_link(user: str, place: str, account: int | None) -> Expect:
    """An unfurl shows the account to its team, never in another account's channel."""
    if account not in ACCOUNT_NAMES:
        return Expect("refused")
    channel_account = CHANNEL_OF.get(place)
    if channel_account is not None and channel_account != account:
        return Expect("refused")
    return about_account(user, Act.VIEW, account)  # type: ignore[arg-type]


async def test_invokes(matrix_bot: tuple[RunningBot, Seeded, Snapshots]) -> None:
    bot, _, snapshots = matrix_bot
    problems: list[str] = []
    cells = 0
    links = pasted_links(bot.settings.public_base_url)
    nothing: dict[str, Any] | None = None  # the one answer for every link that shows nothing
    for user, place in itertools.product(CALLERS, PLACES):
        where = f"by {user} in {place}"
        search = bot.teams._base("invoke", user, place, "en-US")
        search |= {
            "name": "composeExtension/query",
            "value": {"commandId": "searchAccount", "parameters": [{"name": "query", "value": "o"}]},
        }
        reply = await bot.send(search)
        assert reply.status == 200, reply
        found = {a["preview"]["content"]["title"] for a in reply.body["composeExtension"]["attachments"]}
        if found != visible_accounts(user, place):
            problems.append(
                f"search {where}: offered {sorted(found)}, expected {sorted(visible_accounts(user, place))}"
            )

        before = await snapshots.now()
        fetch = bot.teams._base("invoke", user, place, "en-US")
        fetch |= {
            "name": "composeExtension/fetchTask",
            "value": {
                "commandId": "logAsContact",
                "commandContext": "message",
                "messagePayload": {"body": {"contentType": "text", "content": "Matrix note"}},
            },
        }
        reply = await bot.send(fetch)
        assert reply.status == 200, reply
        task = reply.body["task"]
        channel_account = CHANNEL_OF.get(place)
        if channel_account is not None:
            expect, instead = about_account(user, Act.LOG, channel_account), None
        else:
            expect, instead = expect_command(Act.LOG, True, user, place)
        said, is_card = (task["value"], False) if task["type"] == "message" else ("", True)
        if instead is not None:
            problem = None if said == instead else f"message action {where}: saw {said!r}, expected {instead!r}"
        else:
            problem = check(expect, said, is_card, f"message action {where}")
        if problem is None and expect.outcome != "allowed" and await snapshots.now() != before:
            problem = f"message action {where}: refused, but account data changed"
        if problem:
            problems.append(problem)
        cells += 2

        for link, account in links:
            expect = expect_link(user, place, account)
            before = await snapshots.now()
            paste = bot.teams._base("invoke", user, place, "en-US")
            paste |= {"name": "composeExtension/queryLink", "value": {"url": link}}
            reply = await bot.send(paste)
            assert reply.status == 200, reply
            shown = [a["preview"]["content"]["title"] for a in reply.body["composeExtension"]["attachments"]]
            cells += 1
            if expect.outcome == "allowed":
                if shown != [ACCOUNT_NAMES[account]]:  # type: ignore[index]
                    problems.append(f"unfurl {link} {where}: showed {shown}, expected its card")
                continue
            nothing = nothing or reply.body
            if shown or reply.body != nothing:
                problems.append(f"unfurl {link} {where}: answered {reply.body}, expected {nothing}")
            elif await snapshots.now() != before:
                problems.append(f"unfurl {link} {where}: refused, but account data changed")
    assert cells == len(CALLERS) * len(PLACES) * (2 + len(links))
    assert not problems, f"{len(problems)} of {cells} cells:\n" + "\n".join(problems[:40])


# --- tab routes ----------------------------------------------------------------------------------

TAB_SPECS = {
    ("GET", "/tabs/log/export.csv"): Act.EXPORT,
    ("GET", "/tabs/log/export.xlsx"): Act.EXPORT,
    ("POST", "/tabs/plan/save"): Act.EDIT_PLAN,
    ("POST", "/tabs/plan/review"): Act.MANAGE,
    ("POST", "/tabs/plan/results"): Act.EDIT_RESULTS,
    ("GET", "/tabs/portfolio/content"): Act.VIEW_PORTFOLIO,
    ("GET", "/tabs/portfolio/export.xlsx"): Act.VIEW_PORTFOLIO,
    ("GET", "/tabs/config/channel"): Act.VIEW,
    ("GET", "/tabs/insights/content"): Act.VIEW,  # and the head of KAM on any account (kpi_scope)
    ("GET", "/tabs/{kind}/content"): Act.VIEW,
}
# Routes with no act: they show no account data to anyone, which their own tests check (test_tabs, test_unfurl:
# the account link's page is the same for every id). A new one must be added here, on purpose.
PUBLIC_TAB_ROUTES = {
    ("GET", "/tabs/static/{name}"),
    ("GET", "/tabs/static/fluent-tokens/{path:.+}"),
    ("GET", "/privacy"),
    ("GET", "/terms"),
    ("GET", "/accounts/{account_id}"),
    ("GET", "/tabs/config"),
    ("GET", "/tabs/portfolio"),
    ("GET", "/tabs/{kind}"),
}
TAB_IDS = {"own": str(CONTOSO), "other": str(FABRIKAM), "missing": str(MISSING)}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def tab_bot(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[RunningBot, EntraFake, Snapshots]]:
    folder = tmp_path_factory.mktemp("matrix-tabs")
    database = f"sqlite+aiosqlite:///{folder / 'kambot.db'}"
    await migrate_and_seed(database)
    entra = await EntraFake().start()
    connector = await ConnectorFake(thread_windows=UNTHROTTLED).start()
    settings = tab_settings(
        database,
        entra,
        background_jobs=False,
        admin_aad_ids=[ADMIN.aad_object_id],
        head_of_kam_aad_ids=[USERS[head].aad_object_id for head in HEADS],
    )
    bot = await RunningBot(settings, connector).start()
    await seed_items(bot)
    snapshots = Snapshots(bot, str(folder / "kambot.db"))
    yield bot, entra, snapshots
    snapshots.close()
    await bot.stop()
    await entra.stop()
    await connector.stop()


def tab_requests(method: str, path: str, variant: str) -> list[tuple[str, str, dict[str, Any] | None, int]]:
    """(method, url, json body, account) for one route and id variant."""
    account = int(TAB_IDS[variant])
    if path == "/tabs/config/channel":
        channel = {CONTOSO: CONTOSO_CHANNEL, FABRIKAM: FABRIKAM_CHANNEL}.get(account, "channel-of-nothing")
        return [(method, f"{path}?channel={channel}", None, account)]
    if path == "/tabs/{kind}/content":
        return [
            (method, f"/tabs/{kind}/content?account={account}", None, account)
            for kind in ("plan", "log", "stakeholders")
        ]
    body = {"base_version": 0, "objectives": [], "actions": []} if path == "/tabs/plan/save" else {}
    return [(method, f"{path}?account={account}", body if method == "POST" else None, account)]


async def test_tab_routes(tab_bot: tuple[RunningBot, EntraFake, Snapshots]) -> None:
    bot, entra, snapshots = tab_bot
    problems: list[str] = []
    cells = 0
    forbidden: set[str] = set()
    async with aiohttp.ClientSession() as http:
        for (method, path), act in TAB_SPECS.items():
            for variant, user in itertools.product(TAB_IDS, CALLERS):
                token = entra.token(USERS[user].aad_object_id, TENANT_ID)
                about_no_account = not RULES[act].account
                if about_no_account and variant != "own":
                    continue  # the caller decides, not an account: once per caller
                for verb, url, body, account in tab_requests(method, path, variant):
                    if about_no_account:
                        expect = about_caller(user, act)
                    elif variant == "missing":
                        expect = Expect("refused")
                    elif path == "/tabs/insights/content" and user in HEADS:
                        expect = Expect("allowed")
                    else:
                        expect = about_account(user, act, account)
                    before = await snapshots.now()
                    headers = {"Authorization": f"Bearer {token}"}
                    async with http.request(verb, f"{bot.url}{url}", json=body, headers=headers) as r:
                        status, page = r.status, (await r.read()).decode(errors="replace")
                    where = f"{verb} {url} by {user}"
                    cells += 1
                    if expect.outcome == "allowed":
                        if status in (401, 403) or status >= 500:
                            problems.append(f"{where}: {status}, expected allowed")
                        continue
                    if status != 403:
                        problems.append(f"{where}: {status}, expected 403 ({expect.describe()})")
                    elif expect.outcome == "refused":
                        forbidden.add(page)
                        if any(n in page for n in ACCOUNT_NAMES.values()):
                            problems.append(f"{where}: the refusal names an account")
                    if await snapshots.now() != before:
                        problems.append(f"{where}: refused, but account data changed")
    # Per route the refusal is one text, whether the account is missing or not yours.
    assert len(forbidden) <= 3, forbidden  # the tab pages', the set-up page's and the portfolio's
    assert not problems, f"{len(problems)} of {cells} cells:\n" + "\n".join(problems[:40])
