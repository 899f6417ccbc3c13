"""Who of ours knows whom at the customer, how well, and where our coverage has gaps.

The shapes here are what the Stakeholders tab draws, the digest and the summary card name, and the health
score counts. Strength is computed from the logged contacts (how many, how recent, who attended) unless
someone set it by hand (kam.models.RelationshipStrength).

Computed strength of one of ours with one of theirs (0-100), from the account's contacts of the last 365
days (up to today) that both were in; ours in a contact are its logger and its participants, theirs its
stakeholders. Each such contact weighs

    weight = KIND_WEIGHTS[kind] * sqrt(2 / attendees) * 0.5 ** (age in days / 90)

(a meeting or visit 1, a call 0.6, an event 0.4, an e-mail 0.3; attendees = ours + theirs, so a 1:1 counts
fully and a meeting of eight half; a contact's weight halves every 90 days), and the strength saturates:

    strength = round(100 * (1 - 0.5 ** sum of weights))   (halves rounded up)

One 1:1 meeting today gives 50, two give 75, one 90 days ago 29, a 1:1 call today 34. A hand-set strength
replaces the computed one (0 removes the tie); people who left the account team are not ours any more. The
weights are summed in the database (`_pairs`, the same doubles as `contact_weight`): a portfolio has hundreds of
thousands of contacts, Python sees a row per pair.

Coverage gaps (`coverage_gaps`, in this order; "decision makers" are the stakeholders with a role in
DECISION_ROLES or high decision power, `is_decision_maker`):
- NO_DECISION_MAKER: no decision maker. With no stakeholders at all this is the only gap.
- ROLE_UNFILLED: one per buying-centre role nobody has, once anyone's buying role is known; not for the
  decision roles when NO_DECISION_MAKER says it already.
- SINGLE_THREADED: the decision makers whom exactly one of ours knows (a tie of at least KNOWS_AT);
  `Gap.person_ids` names that one, in the same order.
- EXECUTIVES_NOT_MET: there are executive-level stakeholders and none was met in the last 90 days; lists
  them all.
- OPPONENT_OUTWEIGHS: the non-supporters whose `influence` is greater than every supporter's and mentor's
  (than 0 when there are none), most influential first.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import Date, Double, and_, case, cast, func, literal, or_, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from kam.models import (
    Account,
    AccountMember,
    Attitude,
    BuyingRole,
    Contact,
    ContactKind,
    DecisionPower,
    Person,
    RelationshipStrength,
    Role,
    Stakeholder,
    StakeholderInfluence,
    StakeholderLevel,
    contact_participants,
    contact_stakeholders,
)

# The buying-centre roles a deal needs someone in (KAM.md: the buying centre).
BUYING_CENTRE: tuple[BuyingRole, ...] = tuple(BuyingRole)
DECISION_ROLES = frozenset({BuyingRole.DECISION_MAKER, BuyingRole.ECONOMIC_BUYER})


class GapKind(StrEnum):
    NO_DECISION_MAKER = "no_decision_maker"  # no known decision maker or economic buyer
    ROLE_UNFILLED = "role_unfilled"  # a buying-centre role with nobody in it (Gap.role)
    SINGLE_THREADED = "single_threaded"  # a decision maker known by only one of us (the 1:1 risk)
    EXECUTIVES_NOT_MET = "executives_not_met"  # executive level not met in 90 days
    OPPONENT_OUTWEIGHS = "opponent_outweighs"  # a non-supporter with more influence than our supporters


@dataclass(frozen=True)
class Gap:
    kind: GapKind
    stakeholder_ids: tuple[int, ...] = ()  # who it is about (empty where nobody is, e.g. an unfilled role)
    role: BuyingRole | None = None  # for ROLE_UNFILLED
    person_ids: tuple[int, ...] = ()  # SINGLE_THREADED: the one of ours who knows each of stakeholder_ids


@dataclass(frozen=True)
class MapStakeholder:
    id: int
    name: str
    title: str | None
    level: StakeholderLevel | None
    buying_role: BuyingRole | None
    support: Attitude | None
    decision_power: DecisionPower | None
    inner_circle: bool
    reports_to_id: int | None
    last_met: dt.date | None


@dataclass(frozen=True)
class MapMember:
    """One of our people on the account team."""

    person_id: int
    name: str
    is_manager: bool


@dataclass(frozen=True)
class Tie:
    """One of ours knows one of theirs."""

    person_id: int
    stakeholder_id: int
    strength: int  # 0-100: the hand-set value if there is one, else the computed one
    computed: int  # 0-100, from the logged contacts
    hand_set: bool
    contacts: int  # contacts both were in, in the window
    last_met: dt.date | None


@dataclass(frozen=True)
class RelationshipMap:
    account_id: int
    today: dt.date
    stakeholders: tuple[MapStakeholder, ...]
    members: tuple[MapMember, ...]
    ties: tuple[Tie, ...]  # only strength > 0
    influences: tuple[tuple[int, int], ...]  # (influencer id, influenced id)
    gaps: tuple[Gap, ...]


@dataclass(frozen=True)
class CoverageFacts:
    """One account's coverage in figures, for many accounts at once (the health score, the digest)."""

    decision_makers: int  # known stakeholders in DECISION_ROLES or with high decision power
    decision_makers_met: int  # of those, met by one of us in the last 90 days
    key_player_freshness: float | None  # 0-1: how recently the key players were met; None without key players
    gaps: tuple[Gap, ...]


STRENGTH_DAYS = 365  # the contacts a computed strength counts
HALF_LIFE_DAYS = 90  # a contact weighs half as much every 90 days
KIND_WEIGHTS: Mapping[ContactKind, float] = {
    ContactKind.MEETING: 1.0,
    ContactKind.VISIT: 1.0,
    ContactKind.CALL: 0.6,
    ContactKind.EVENT: 0.4,
    ContactKind.EMAIL: 0.3,
}
KNOWS_AT = 20  # a tie this strong means the person knows them (SINGLE_THREADED)
MET_DAYS = 90  # "met lately": executives, decision makers met
FRESH_DAYS = 180  # key player freshness falls to 0 over this many days
SUPPORTERS = frozenset({Attitude.MENTOR, Attitude.SUPPORTER})
POWER_POINTS: Mapping[DecisionPower | None, int] = {
    DecisionPower.LOW: 1,
    DecisionPower.MEDIUM: 2,
    DecisionPower.HIGH: 3,
}
LEVEL_POINTS: Mapping[StakeholderLevel | None, int] = {StakeholderLevel.MANAGEMENT: 1, StakeholderLevel.EXECUTIVE: 2}
INNER_CIRCLE_POINTS = 2
SWAYED_POINTS_MAX = 3
KEY_ROLES = DECISION_ROLES | {BuyingRole.SPONSOR, BuyingRole.CHAMPION}
# is_decision_maker in SQL
_decides = or_(Stakeholder.buying_role.in_(DECISION_ROLES), Stakeholder.decision_power == DecisionPower.HIGH)


def contact_weight(kind: ContactKind, attendees: int, age_days: int) -> float:
    """What one contact adds to the strength of each pair of ours and theirs in it (module docstring)."""
    return KIND_WEIGHTS[kind] * math.sqrt(2 / max(attendees, 2)) * 0.5 ** (max(age_days, 0) / HALF_LIFE_DAYS)


def strength_of(total_weight: float) -> int:
    """0-100 from the summed weights of the contacts a pair was in: saturating, halves rounded up."""
    return min(100, math.floor(100 * (1 - 0.5**total_weight) + 0.5))


def is_decision_maker(stakeholder: MapStakeholder) -> bool:
    return stakeholder.buying_role in DECISION_ROLES or stakeholder.decision_power == DecisionPower.HIGH


def is_key_player(stakeholder: MapStakeholder) -> bool:
    """Decision makers, sponsors, champions, executives and the inner circle: whom the team must keep meeting."""
    return (
        is_decision_maker(stakeholder)
        or stakeholder.buying_role in KEY_ROLES
        or stakeholder.level == StakeholderLevel.EXECUTIVE
        or stakeholder.inner_circle
    )


def met_since(stakeholder: MapStakeholder, today: dt.date, days: int) -> bool:
    return stakeholder.last_met is not None and stakeholder.last_met >= today - dt.timedelta(days=days)


def influence(stakeholder: MapStakeholder, swayed: int) -> int:
    """How much weight someone carries at the customer: decision power (low 1, medium 2, high 3), level
    (management 1, executive 2), inner circle 2, and 1 for each person they sway (who report to them or whom
    they influence informally), at most 3 of those."""
    circle = INNER_CIRCLE_POINTS if stakeholder.inner_circle else 0
    power, level = POWER_POINTS.get(stakeholder.decision_power, 0), LEVEL_POINTS.get(stakeholder.level, 0)
    return power + level + circle + min(swayed, SWAYED_POINTS_MAX)


def swayed_counts(stakeholders: Sequence[MapStakeholder], influences: Iterable[tuple[int, int]]) -> dict[int, int]:
    """For each stakeholder, how many others report to them or are influenced by them (each counted once)."""
    known = {s.id for s in stakeholders}
    swayed: dict[int, set[int]] = defaultdict(set)
    for s in stakeholders:
        if s.reports_to_id in known and s.reports_to_id != s.id:
            swayed[s.reports_to_id].add(s.id)
    for influencer, influenced in influences:
        if influencer in known and influenced in known and influencer != influenced:
            swayed[influencer].add(influenced)
    return {s_id: len(people) for s_id, people in swayed.items()}


def knowers(ties: Iterable[Tie]) -> dict[int, list[int]]:
    """For each stakeholder, the people of ours who know them (a tie of at least KNOWS_AT), in id order."""
    known: dict[int, list[int]] = defaultdict(list)
    for tie in sorted(ties, key=lambda t: (t.stakeholder_id, t.person_id)):
        if tie.strength >= KNOWS_AT:
            known[tie.stakeholder_id].append(tie.person_id)
    return known


def coverage_gaps(
    stakeholders: Sequence[MapStakeholder],
    ties: Sequence[Tie],
    today: dt.date,
    influences: Iterable[tuple[int, int]] = (),
) -> tuple[Gap, ...]:
    """The coverage gaps of one account, in GapKind order, ids in a fixed order (the rules: module docstring).

    `ties` are ours only (people still on the team) and `influences` (influencer id, influenced id) pairs.
    """
    if not stakeholders:
        return (Gap(GapKind.NO_DECISION_MAKER),)
    ordered = sorted(stakeholders, key=lambda s: s.id)
    deciders = [s for s in ordered if is_decision_maker(s)]
    gaps: list[Gap] = []
    if not deciders:
        gaps.append(Gap(GapKind.NO_DECISION_MAKER))
    filled = {s.buying_role for s in ordered if s.buying_role is not None}
    if filled:
        said = DECISION_ROLES if not deciders else frozenset()
        gaps += [Gap(GapKind.ROLE_UNFILLED, role=r) for r in BUYING_CENTRE if r not in filled and r not in said]
    known = knowers(ties)
    single = [(s.id, known[s.id][0]) for s in deciders if len(known.get(s.id, ())) == 1]
    if single:
        gaps.append(Gap(GapKind.SINGLE_THREADED, tuple(s for s, _ in single), person_ids=tuple(p for _, p in single)))
    executives = [s for s in ordered if s.level == StakeholderLevel.EXECUTIVE]
    if executives and not any(met_since(s, today, MET_DAYS) for s in executives):
        gaps.append(Gap(GapKind.EXECUTIVES_NOT_MET, tuple(s.id for s in executives)))
    swayed = swayed_counts(ordered, influences)
    weight = {s.id: influence(s, swayed.get(s.id, 0)) for s in ordered}
    strongest_supporter = max((weight[s.id] for s in ordered if s.support in SUPPORTERS), default=0)
    opponents = [s.id for s in ordered if s.support == Attitude.NON_SUPPORTER and weight[s.id] > strongest_supporter]
    if opponents:
        gaps.append(Gap(GapKind.OPPONENT_OUTWEIGHS, tuple(sorted(opponents, key=lambda i: (-weight[i], i)))))
    return tuple(gaps)


def key_player_freshness(stakeholders: Iterable[MapStakeholder], today: dt.date) -> float | None:
    """Mean over the key players (`is_key_player`) of max(0, 1 - days since last met / 180), never met 0;
    None without key players."""
    scores = [
        max(0.0, 1 - (today - s.last_met).days / FRESH_DAYS) if s.last_met is not None else 0.0
        for s in stakeholders
        if is_key_player(s)
    ]
    return sum(scores) / len(scores) if scores else None


@dataclass
class _Account:
    """What the loader gathered for one account."""

    stakeholders: list[MapStakeholder] = field(default_factory=list)
    members: list[MapMember] = field(default_factory=list)
    ties: list[Tie] = field(default_factory=list)
    influences: list[tuple[int, int]] = field(default_factory=list)

    def gaps(self, today: dt.date) -> tuple[Gap, ...]:
        return coverage_gaps(self.stakeholders, self.ties, today, self.influences)


@dataclass(frozen=True)
class _Pair:
    """One of ours and one of theirs across the contacts of the strength window they were both in."""

    weight: float = 0.0
    contacts: int = 0
    last_met: dt.date | None = None


# For the rest of a transaction about several accounts: plan each statement for its own ids (asyncpg prepares
# statements, and after five runs PostgreSQL may switch to a generic plan, blind to how many accounts the IN list
# holds: seconds instead of tenths for the correlated counts of `_pairs`), and without JIT (compiling took longer
# than running them). For one account the generic plan is the fast one (the Insights tab: 27 ms against 125 ms).
POSTGRES_PLANNING = "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), set_config('jit', 'off', true)"


async def _load(
    session: AsyncSession,
    account_ids: Collection[int],
    today: dt.date,
    *,
    deciders_only: bool = False,
    with_confidential: bool = True,
) -> dict[int, _Account]:
    """Stakeholders, members, ties and influences of the accounts: six statements (seven on PostgreSQL) whatever
    their sizes (none without accounts). With `deciders_only`, only the ties with decision makers (what the gaps
    and figures need). Without `with_confidential`, confidential contacts count for nothing: who met whom there,
    and when, is one of their details (kam.access.map_counts_confidential).

    Contacts are read as bare columns (no ORM objects): a big account has thousands of them.
    """
    ids = list(account_ids)
    if not ids:
        return {}
    connection = await session.connection()  # bare rows: the ORM's row handling costs more than the query here
    if connection.dialect.name == "postgresql" and len(ids) > 1:
        await connection.exec_driver_sql(POSTGRES_PLANNING)
    found: dict[int, _Account] = {account_id: _Account() for account_id in ids}
    members = await connection.execute(
        select(AccountMember.account_id, AccountMember.person_id, AccountMember.role, Person.name)
        .join(Person, Person.id == AccountMember.person_id)
        .where(AccountMember.account_id.in_(ids))
        .order_by(AccountMember.account_id, Person.name, Person.id)
    )
    on_team: dict[int, set[int]] = defaultdict(set)
    for account_id, person_id, role, name in members.all():
        found[account_id].members.append(MapMember(person_id, name, role == Role.MANAGER))
        on_team[account_id].add(person_id)
    last_met: dict[int, dt.date] = {
        stakeholder_id: met_on
        for stakeholder_id, met_on in (
            await connection.execute(
                select(contact_stakeholders.c.stakeholder_id, func.max(Contact.met_on))
                .join(Contact, Contact.id == contact_stakeholders.c.contact_id)
                .where(Contact.account_id.in_(ids), Contact.met_on <= today, _shown(with_confidential))
                .group_by(contact_stakeholders.c.stakeholder_id)
            )
        ).all()
    }
    stakeholders = await connection.execute(
        select(
            Stakeholder.account_id,
            Stakeholder.id,
            Stakeholder.name,
            Stakeholder.title,
            Stakeholder.level,
            Stakeholder.buying_role,
            Stakeholder.attitude,
            Stakeholder.decision_power,
            Stakeholder.inner_circle,
            Stakeholder.reports_to_id,
        )
        .where(Stakeholder.account_id.in_(ids))
        .order_by(Stakeholder.account_id, Stakeholder.name, Stakeholder.id)
    )
    for account_id, s_id, name, title, level, buying_role, support, power, inner, reports_to in stakeholders.all():
        found[account_id].stakeholders.append(
            MapStakeholder(
                s_id, name, title, level, buying_role, support, power, bool(inner), reports_to, last_met.get(s_id)
            )
        )
    influences = await connection.execute(
        select(StakeholderInfluence.account_id, StakeholderInfluence.influencer_id, StakeholderInfluence.influenced_id)
        .where(StakeholderInfluence.account_id.in_(ids))
        .order_by(StakeholderInfluence.influencer_id, StakeholderInfluence.influenced_id)
    )
    for account_id, influencer, influenced in influences.all():
        found[account_id].influences.append((influencer, influenced))
    pairs = await _pairs(connection, ids, today, deciders_only, with_confidential)
    hand_set = await connection.execute(
        select(
            Stakeholder.account_id,
            RelationshipStrength.person_id,
            RelationshipStrength.stakeholder_id,
            RelationshipStrength.strength,
        )
        .join(Stakeholder, Stakeholder.id == RelationshipStrength.stakeholder_id)
        .where(Stakeholder.account_id.in_(ids), _decides if deciders_only else true())
    )
    by_hand = {(account_id, p, s): strength for account_id, p, s, strength in hand_set.all()}
    for account_id, person_id, stakeholder_id in sorted(set(pairs) | set(by_hand)):
        if person_id not in on_team[account_id]:
            continue  # left the team: not ours any more
        pair = pairs.get((account_id, person_id, stakeholder_id), _Pair())
        computed = strength_of(pair.weight)
        set_by_hand = by_hand.get((account_id, person_id, stakeholder_id))
        strength = computed if set_by_hand is None else max(0, min(100, set_by_hand))
        if strength > 0:
            found[account_id].ties.append(
                Tie(
                    person_id,
                    stakeholder_id,
                    strength,
                    computed,
                    set_by_hand is not None,
                    pair.contacts,
                    pair.last_met,
                )
            )
    return found


def _age_days(dialect: str, today: dt.date) -> ColumnElement[float]:
    """Days from a contact to `today`, as a float: SQLite keeps dates as ISO text, PostgreSQL subtracts dates."""
    if dialect == "sqlite":
        return func.julianday(today.isoformat()) - func.julianday(Contact.met_on)
    return cast(literal(today, Date) - Contact.met_on, Double)


def _contact_weight(dialect: str, today: dt.date) -> ColumnElement[float]:
    """`contact_weight` of the contact in the query, in SQL: the same operations in the same order, so the same
    doubles. Its attendees are all counted (ours: its logger and the other participants; theirs: its
    stakeholders), so that leaving people out of the answer does not change its weight."""
    kind_weight = case(
        *((Contact.kind == kind, literal(weight, Double)) for kind, weight in KIND_WEIGHTS.items()),
        else_=literal(0.0, Double),
    )
    participants = (
        select(func.count())
        .select_from(contact_participants)
        .where(
            contact_participants.c.contact_id == Contact.id, contact_participants.c.person_id != Contact.logged_by_id
        )
        .scalar_subquery()
    )
    theirs = (
        select(func.count())
        .select_from(contact_stakeholders)
        .where(contact_stakeholders.c.contact_id == Contact.id)
        .scalar_subquery()
    )
    decay = func.power(literal(0.5, Double), _age_days(dialect, today) / HALF_LIFE_DAYS)
    return kind_weight * func.sqrt(literal(2.0, Double) / (1 + participants + theirs)) * decay


def _shown(with_confidential: bool) -> ColumnElement[bool]:
    return true() if with_confidential else Contact.confidential.is_(False)


async def _pairs(
    connection: AsyncConnection, account_ids: list[int], today: dt.date, deciders_only: bool, with_confidential: bool
) -> dict[tuple[int, int, int], _Pair]:
    """(account, one of ours on its team, one of theirs) -> the contacts of the strength window both were in,
    summed in the database: one statement, a row per pair.

    Each (contact, one of theirs) link of the window is weighed once, then counted for its logger and for each
    other participant. With `deciders_only`, only the links to decision makers (all the coverage figures need):
    far fewer rows. On PostgreSQL it runs as POSTGRES_PLANNING says (measured with bench/relationships.py).
    """
    linked = contact_stakeholders.alias("linked")
    links = (
        select(
            Contact.id,
            Contact.account_id,
            Contact.met_on,
            Contact.logged_by_id,
            linked.c.stakeholder_id,
            _contact_weight(connection.dialect.name, today).label("weight"),
        )
        .join(linked, linked.c.contact_id == Contact.id)
        .where(
            Contact.account_id.in_(account_ids),
            Contact.met_on >= today - dt.timedelta(days=STRENGTH_DAYS),
            Contact.met_on <= today,
            _shown(with_confidential),
        )
    )
    if deciders_only:
        links = links.join(Stakeholder, Stakeholder.id == linked.c.stakeholder_id).where(_decides)
    weighed = links.cte("weighed")
    ours = union_all(
        select(
            weighed.c.account_id,
            weighed.c.logged_by_id.label("person_id"),
            weighed.c.stakeholder_id,
            weighed.c.weight,
            weighed.c.met_on,
        ),
        select(
            weighed.c.account_id,
            contact_participants.c.person_id,
            weighed.c.stakeholder_id,
            weighed.c.weight,
            weighed.c.met_on,
        ).join(
            contact_participants,
            and_(
                contact_participants.c.contact_id == weighed.c.id,
                contact_participants.c.person_id != weighed.c.logged_by_id,
            ),
        ),
    ).subquery("ours")
    on_team = select(AccountMember.person_id).where(
        AccountMember.account_id == ours.c.account_id, AccountMember.person_id == ours.c.person_id
    )
    query = (
        select(
            ours.c.account_id,
            ours.c.person_id,
            ours.c.stakeholder_id,
            func.sum(ours.c.weight),
            func.count(),
            func.max(ours.c.met_on),
        )
        .where(on_team.exists())
        .group_by(ours.c.account_id, ours.c.person_id, ours.c.stakeholder_id)
    )
    return {
        (account_id, person_id, stakeholder_id): _Pair(float(weight), contacts, last_met)
        for account_id, person_id, stakeholder_id, weight, contacts, last_met in (await connection.execute(query)).all()
    }


async def relationship_maps(
    session: AsyncSession,
    account_ids: Collection[int],
    today: dt.date,
    *,
    with_confidential: bool = True,
    deciders_only: bool = False,
) -> dict[int, RelationshipMap]:
    """The relationship maps of many accounts as of `today`, in a fixed number of statements whatever their sizes
    (`_load`); without `with_confidential`, as if confidential contacts were not there. With `deciders_only`, only
    the ties with decision makers: all the gaps need (the digest), far fewer rows."""
    return {
        account_id: RelationshipMap(
            account_id=account_id,
            today=today,
            stakeholders=tuple(found.stakeholders),
            members=tuple(found.members),
            ties=tuple(found.ties),
            influences=tuple(found.influences),
            gaps=found.gaps(today),
        )
        for account_id, found in (
            await _load(session, account_ids, today, deciders_only=deciders_only, with_confidential=with_confidential)
        ).items()
    }


async def relationship_map(
    session: AsyncSession, account: Account, today: dt.date, *, with_confidential: bool = True
) -> RelationshipMap:
    """The account's relationship map as of `today`, in a fixed number of statements whatever its size."""
    return (await relationship_maps(session, [account.id], today, with_confidential=with_confidential))[account.id]


def coverage_of(
    stakeholders: Sequence[MapStakeholder], ties: Sequence[Tie], today: dt.date, influences: Iterable[tuple[int, int]]
) -> CoverageFacts:
    deciders = [s for s in stakeholders if is_decision_maker(s)]
    return CoverageFacts(
        decision_makers=len(deciders),
        decision_makers_met=sum(1 for s in deciders if met_since(s, today, MET_DAYS)),
        key_player_freshness=key_player_freshness(stakeholders, today),
        gaps=coverage_gaps(stakeholders, ties, today, influences),
    )


async def coverage_facts(
    session: AsyncSession, account_ids: Collection[int], today: dt.date
) -> dict[int, CoverageFacts]:
    """The coverage of many accounts at once (a fixed number of statements whatever their number, `_load`);
    every id is in the answer.

    decision_makers_met counts the decision makers met in the last 90 days; key_player_freshness: see
    `key_player_freshness`.
    """
    found = await _load(session, account_ids, today, deciders_only=True)
    return {
        account_id: coverage_of(data.stakeholders, data.ties, today, data.influences)
        for account_id, data in found.items()
    }
