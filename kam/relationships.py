"""Who of ours knows whom at the customer, how well, and where our coverage has gaps.

The shapes here are what the Stakeholders tab draws, the digest and the summary card name, and the health
score counts. Strength is computed from the logged contacts (how many, how recent, who attended) unless
someone set it by hand (kam.models.RelationshipStrength).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from kam.models import Attitude, BuyingRole, DecisionPower, StakeholderLevel

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

    decision_makers: int  # known stakeholders in DECISION_ROLES (or with high decision power)
    decision_makers_met: int  # of those, met by one of us in the last 90 days
    key_player_freshness: float | None  # 0-1: how recently the key players were met; None without key players
    gaps: tuple[Gap, ...]
