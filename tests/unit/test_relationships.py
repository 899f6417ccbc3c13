"""Computed relationship strength and the coverage gap rules (kam.relationships), each worked out by hand, and the
gaps in words (cards.gaps)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace

import pytest

from cards.gaps import gap_lines
from cards.i18n import Texts
from kam.models import Attitude, BuyingRole, ContactKind, DecisionPower, StakeholderLevel
from kam.relationships import (
    Gap,
    GapKind,
    MapStakeholder,
    Tie,
    contact_weight,
    coverage_gaps,
    coverage_of,
    influence,
    key_player_freshness,
    strength_of,
)

TODAY = dt.date(2026, 6, 10)
MEGAN, ALEX, ADELE = 1, 2, 3


def someone(id: int, **facts: object) -> MapStakeholder:
    plain = MapStakeholder(id, f"Person {id}", None, None, None, None, None, False, None, None)
    return replace(plain, **facts)  # type: ignore[arg-type]


def tie(person_id: int, stakeholder_id: int, strength: int) -> Tie:
    return Tie(person_id, stakeholder_id, strength, strength, False, 1, TODAY)


def days_ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


@pytest.mark.parametrize(
    ("contacts", "expected"),
    [
        # weight = kind * sqrt(2 / attendees) * 0.5 ** (age / 90); strength = 100 * (1 - 0.5 ** sum), halves up
        ([(ContactKind.MEETING, 2, 0)], 50),  # 1 -> 100 * (1 - 0.5) = 50
        ([(ContactKind.MEETING, 2, 0), (ContactKind.VISIT, 2, 0)], 75),  # 2 -> 100 * (1 - 0.25)
        ([(ContactKind.MEETING, 2, 90)], 29),  # 0.5 -> 100 * (1 - 0.7071) = 29.29
        ([(ContactKind.MEETING, 2, 180)], 16),  # 0.25 -> 100 * (1 - 0.8409) = 15.91
        ([(ContactKind.MEETING, 8, 0)], 29),  # sqrt(2 / 8) = 0.5: a meeting of eight is half a 1:1
        ([(ContactKind.CALL, 2, 0)], 34),  # 0.6 -> 100 * (1 - 0.6598) = 34.02
        ([(ContactKind.EVENT, 2, 0)], 24),  # 0.4 -> 100 * (1 - 0.7579) = 24.21
        ([(ContactKind.EMAIL, 2, 0)], 19),  # 0.3 -> 100 * (1 - 0.8123) = 18.77
        ([(ContactKind.CALL, 4, 90), (ContactKind.MEETING, 2, 0)], 57),  # 0.6 * 0.7071 * 0.5 + 1 = 1.2121 -> 56.84
        ([(ContactKind.MEETING, 2, 0)] * 10, 100),  # 10 -> 99.90, saturated
        ([], 0),
    ],
)
def test_strength_counts_how_many_how_recent_and_who_attended(
    contacts: list[tuple[ContactKind, int, int]], expected: int
) -> None:
    assert strength_of(sum(contact_weight(kind, attendees, age) for kind, attendees, age in contacts)) == expected


def test_a_one_to_one_weighs_more_than_a_big_meeting_and_a_meeting_more_than_an_email() -> None:
    assert contact_weight(ContactKind.MEETING, 2, 0) > contact_weight(ContactKind.MEETING, 12, 0)
    assert contact_weight(ContactKind.MEETING, 2, 0) > contact_weight(ContactKind.CALL, 2, 0)
    assert contact_weight(ContactKind.CALL, 2, 0) > contact_weight(ContactKind.EMAIL, 2, 0)
    assert contact_weight(ContactKind.MEETING, 1, 0) == contact_weight(ContactKind.MEETING, 2, 0), "nobody else: 1:1"


def test_no_stakeholders_at_all_is_one_gap_only() -> None:
    assert coverage_gaps([], [], TODAY) == (Gap(GapKind.NO_DECISION_MAKER),)


def test_stakeholders_whose_roles_nobody_knows_yet_say_no_decision_maker_only() -> None:
    assert coverage_gaps([someone(1), someone(2, level=StakeholderLevel.MANAGEMENT)], [], TODAY) == (
        Gap(GapKind.NO_DECISION_MAKER),
    )


def test_unfilled_roles_do_not_repeat_the_missing_decision_maker() -> None:
    people = [someone(1, buying_role=BuyingRole.USER), someone(2, buying_role=BuyingRole.CHAMPION)]
    assert coverage_gaps(people, [], TODAY) == (
        Gap(GapKind.NO_DECISION_MAKER),
        Gap(GapKind.ROLE_UNFILLED, role=BuyingRole.TECHNICAL_INFLUENCER),
        Gap(GapKind.ROLE_UNFILLED, role=BuyingRole.GATEKEEPER),
        Gap(GapKind.ROLE_UNFILLED, role=BuyingRole.SPONSOR),
    )


def test_high_decision_power_counts_as_a_decision_maker_but_leaves_the_decision_roles_unfilled() -> None:
    people = [someone(1, buying_role=BuyingRole.USER, decision_power=DecisionPower.HIGH)]
    gaps = coverage_gaps(people, [tie(MEGAN, 1, 60), tie(ALEX, 1, 60)], TODAY)
    assert [g.kind for g in gaps] == [GapKind.ROLE_UNFILLED] * 6
    assert [g.role for g in gaps] == [
        BuyingRole.DECISION_MAKER,
        BuyingRole.ECONOMIC_BUYER,
        BuyingRole.TECHNICAL_INFLUENCER,
        BuyingRole.GATEKEEPER,
        BuyingRole.CHAMPION,
        BuyingRole.SPONSOR,
    ]


def full_buying_centre(*, start: int = 1) -> list[MapStakeholder]:
    """Everyone in a role, nobody executive, all neutral: no gaps but what a test adds."""
    return [someone(start + i, buying_role=role) for i, role in enumerate(BuyingRole)]


def test_a_decision_maker_known_by_only_one_of_us_is_single_threaded() -> None:
    people = full_buying_centre()  # 1 decision maker, 2 economic buyer
    people.append(someone(8, decision_power=DecisionPower.HIGH))  # a decision maker too, known by nobody
    ties = [
        tie(MEGAN, 1, 60),
        tie(ALEX, 1, 20),  # exactly KNOWS_AT: knows
        tie(ALEX, 2, 75),
        tie(MEGAN, 2, 19),  # below KNOWS_AT: does not know
        tie(ADELE, 3, 90),  # a user: not a decision maker
    ]
    gaps = coverage_gaps(people, ties, TODAY)
    assert gaps == (Gap(GapKind.SINGLE_THREADED, (2,), person_ids=(ALEX,)),)


def test_single_threaded_lists_each_decision_maker_with_the_one_who_knows_them() -> None:
    people = full_buying_centre()
    gaps = coverage_gaps(people, [tie(ADELE, 2, 30), tie(MEGAN, 1, 80)], TODAY)
    assert gaps == (Gap(GapKind.SINGLE_THREADED, (1, 2), person_ids=(MEGAN, ADELE)),)


def test_executives_not_met_in_90_days_are_listed_all() -> None:
    people = full_buying_centre()
    people += [
        someone(10, level=StakeholderLevel.EXECUTIVE, last_met=days_ago(91)),
        someone(11, level=StakeholderLevel.EXECUTIVE),  # never met
        someone(12, level=StakeholderLevel.MANAGEMENT, last_met=days_ago(200)),  # not an executive
    ]
    ties = [tie(MEGAN, s, 50) for s in (1, 2)] + [tie(ALEX, s, 50) for s in (1, 2)]
    assert coverage_gaps(people, ties, TODAY) == (Gap(GapKind.EXECUTIVES_NOT_MET, (10, 11)),)
    people[-3] = replace(people[-3], last_met=days_ago(90))  # one met exactly 90 days ago: met
    assert coverage_gaps(people, ties, TODAY) == ()


def test_influence_adds_power_level_inner_circle_and_up_to_three_people_swayed() -> None:
    assert influence(someone(1), 0) == 0
    assert influence(someone(1, decision_power=DecisionPower.LOW, level=StakeholderLevel.MANAGEMENT), 1) == 3
    top = someone(1, decision_power=DecisionPower.HIGH, level=StakeholderLevel.EXECUTIVE, inner_circle=True)
    assert influence(top, 5) == 3 + 2 + 2 + 3


def test_a_non_supporter_who_outweighs_every_supporter_is_flagged() -> None:
    people = full_buying_centre()  # ids 1-7, neutral
    people += [
        # Kurt: high 3 + executive 2 + inner circle 2 + sways 4 (counted 3) = 10
        someone(
            10,
            support=Attitude.NON_SUPPORTER,
            decision_power=DecisionPower.HIGH,
            level=StakeholderLevel.EXECUTIVE,
            inner_circle=True,
            last_met=TODAY,
        ),
        # Sara: medium 2 + management 1 + influences Olga 1 = 4
        someone(11, support=Attitude.SUPPORTER, decision_power=DecisionPower.MEDIUM, level=StakeholderLevel.MANAGEMENT),
        # Mia: low 1 = 1
        someone(12, support=Attitude.MENTOR, decision_power=DecisionPower.LOW),
        # Olga: medium 2 + management 1 + reports from 1 = 4: as much as Sara, not more
        someone(
            13, support=Attitude.NON_SUPPORTER, decision_power=DecisionPower.MEDIUM, level=StakeholderLevel.MANAGEMENT
        ),
        # Ben: high 3 + management 1 + 1 influenced = 5
        someone(
            14, support=Attitude.NON_SUPPORTER, decision_power=DecisionPower.HIGH, level=StakeholderLevel.MANAGEMENT
        ),
    ]
    people[0] = replace(people[0], reports_to_id=10)
    people[1] = replace(people[1], reports_to_id=10)
    people[2] = replace(people[2], reports_to_id=13)
    influences = [(10, 3), (10, 4), (10, 1), (11, 13), (14, 11)]  # Kurt sways 1 (also by report: once), 2, 3, 4
    ties = [tie(MEGAN, s, 50) for s in (1, 2, 10)] + [tie(ALEX, s, 50) for s in (1, 2, 10)]
    assert coverage_gaps(people, ties, TODAY, influences) == (Gap(GapKind.OPPONENT_OUTWEIGHS, (10, 14)),)


def test_without_supporters_any_non_supporter_with_influence_outweighs() -> None:
    people = full_buying_centre()
    people += [
        someone(10, support=Attitude.NON_SUPPORTER),  # influence 0: no weight at all
        someone(11, support=Attitude.NON_SUPPORTER, decision_power=DecisionPower.LOW),  # 1
    ]
    ties = [tie(MEGAN, s, 50) for s in (1, 2)] + [tie(ALEX, s, 50) for s in (1, 2)]
    assert coverage_gaps(people, ties, TODAY) == (Gap(GapKind.OPPONENT_OUTWEIGHS, (11,)),)


def test_all_rules_together_in_order_whatever_the_order_of_the_input() -> None:
    people = [
        someone(1, buying_role=BuyingRole.USER, level=StakeholderLevel.EXECUTIVE, last_met=days_ago(120)),
        someone(2, decision_power=DecisionPower.HIGH, support=Attitude.SUPPORTER),  # influence 3
        someone(3, support=Attitude.NON_SUPPORTER, level=StakeholderLevel.EXECUTIVE, inner_circle=True),  # 4
    ]
    ties = [tie(MEGAN, 2, 40), tie(ALEX, 2, 10)]
    expected = (
        Gap(GapKind.ROLE_UNFILLED, role=BuyingRole.DECISION_MAKER),
        Gap(GapKind.ROLE_UNFILLED, role=BuyingRole.ECONOMIC_BUYER),
        Gap(GapKind.ROLE_UNFILLED, role=BuyingRole.TECHNICAL_INFLUENCER),
        Gap(GapKind.ROLE_UNFILLED, role=BuyingRole.GATEKEEPER),
        Gap(GapKind.ROLE_UNFILLED, role=BuyingRole.CHAMPION),
        Gap(GapKind.ROLE_UNFILLED, role=BuyingRole.SPONSOR),
        Gap(GapKind.SINGLE_THREADED, (2,), person_ids=(MEGAN,)),
        Gap(GapKind.EXECUTIVES_NOT_MET, (1, 3)),
        Gap(GapKind.OPPONENT_OUTWEIGHS, (3,)),
    )
    assert coverage_gaps(people, ties, TODAY) == expected
    shuffled = random.Random(7)
    for _ in range(5):
        people_again, ties_again = people[:], ties[:]
        shuffled.shuffle(people_again)
        shuffled.shuffle(ties_again)
        assert coverage_gaps(people_again, ties_again, TODAY) == expected


def test_key_player_freshness_is_the_mean_over_key_players_never_met_counting_zero() -> None:
    people = [
        someone(1, buying_role=BuyingRole.DECISION_MAKER, last_met=TODAY),  # 1
        someone(2, buying_role=BuyingRole.SPONSOR, last_met=days_ago(90)),  # 1 - 90 / 180 = 0.5
        someone(3, inner_circle=True),  # never met: 0
        someone(4, level=StakeholderLevel.EXECUTIVE, last_met=days_ago(200)),  # past 180 days: 0
        someone(5, buying_role=BuyingRole.CHAMPION, last_met=days_ago(45)),  # 0.75
        someone(6, buying_role=BuyingRole.USER, last_met=TODAY),  # not a key player
    ]
    assert key_player_freshness(people, TODAY) == pytest.approx((1 + 0.5 + 0 + 0 + 0.75) / 5)  # 0.45
    assert key_player_freshness([someone(6, buying_role=BuyingRole.USER)], TODAY) is None


def test_coverage_counts_decision_makers_and_those_met_in_90_days() -> None:
    people = [
        someone(1, buying_role=BuyingRole.DECISION_MAKER, last_met=days_ago(90)),  # met
        someone(2, buying_role=BuyingRole.ECONOMIC_BUYER, last_met=days_ago(91)),  # not lately
        someone(3, decision_power=DecisionPower.HIGH),  # never
        someone(4, buying_role=BuyingRole.USER, last_met=TODAY),  # no decision maker
    ]
    facts = coverage_of(people, [], TODAY, [])
    assert (facts.decision_makers, facts.decision_makers_met) == (3, 1)
    assert facts.key_player_freshness == pytest.approx((0.5 + (1 - 91 / 180) + 0) / 3)
    assert facts.gaps == coverage_gaps(people, [], TODAY)


def test_every_gap_in_words_in_english_and_german() -> None:
    names = {i: f"Person {i}" for i in range(1, 10)}
    members = {MEGAN: "Megan Bowen", ALEX: "Alex Wilber"}
    gaps = (
        Gap(GapKind.NO_DECISION_MAKER),
        Gap(GapKind.ROLE_UNFILLED, role=BuyingRole.GATEKEEPER),
        Gap(GapKind.ROLE_UNFILLED, role=BuyingRole.SPONSOR),
        Gap(GapKind.SINGLE_THREADED, (1, 2, 3, 4, 5), person_ids=(MEGAN, ALEX, MEGAN, MEGAN, ALEX)),
        Gap(GapKind.EXECUTIVES_NOT_MET, (6, 7, 8, 9)),
        Gap(GapKind.OPPONENT_OUTWEIGHS, (9,)),
    )
    assert gap_lines(Texts("en"), gaps, names, members) == [
        "No decision maker or economic buyer known",
        "Buying-centre roles with nobody known in them: Gatekeeper, Sponsor",
        "Decision maker Person 1 is known only by Megan Bowen",
        "Decision maker Person 2 is known only by Alex Wilber",
        "Decision maker Person 3 is known only by Megan Bowen",
        "… and 2 more decision makers known by only one of us",
        "No executive met in 90 days: Person 6, Person 7, Person 8 and 1 more",
        "Not on our side and more influential than our supporters: Person 9",
    ]
    assert gap_lines(Texts("de"), gaps[1:2] + gaps[4:5], names, members) == [
        "Buying-Center-Rollen ohne bekannte Person: Gatekeeper",
        "Seit 90 Tagen niemand aus der Geschäftsleitung getroffen: Person 6, Person 7, Person 8 und 1 weitere",
    ]
