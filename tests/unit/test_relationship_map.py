"""The relationship map of the Stakeholders tab: where the layout puts people, what the SVG draws, and the
same map as a table. A small world, worked out by hand:

    ours                    customer
    Megan (KA manager) ---- Hanna, CEO (supporter, decision maker, high power, inner circle)
    Alex -----(set by hand)--- Lea, reports to Hanna (mentor, champion)
    Adele --------------------- Tom, reports to Lea (neutral, technical influencer)
    Megan --------------------- Jonas, reports to Hanna (non-supporter, economic buyer, high power)
                                a name with markup in it, reporting to nobody (support not known)
    Jonas influences Hanna, Tom influences Lea.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from bot.tabs.relationship_map import (
    BOX_WIDTH,
    MEMBER_WIDTH,
    KnownBy,
    draw_map,
    known_text,
    layout,
    reports_to_depth,
    tie_opacity,
    tie_width,
)
from cards.i18n import Texts
from kam.models import Attitude, BuyingRole, DecisionPower, StakeholderLevel
from kam.relationships import Gap, GapKind, MapMember, MapStakeholder, RelationshipMap, Tie

SVG = "{http://www.w3.org/2000/svg}"
TODAY = dt.date(2026, 12, 5)
MEGAN, ALEX, ADELE = 1, 2, 3
HANNA, JONAS, LEA, TOM, ODD = 10, 11, 12, 13, 14
ODD_NAME = '<script>alert("x")</script> & Co'


def person(
    id: int,
    name: str,
    boss: int | None = None,
    role: BuyingRole | None = None,
    support: Attitude | None = None,
    power: DecisionPower | None = None,
    inner: bool = False,
) -> MapStakeholder:
    return MapStakeholder(
        id, name, f"Title of {name}", StakeholderLevel.MANAGEMENT, role, support, power, inner, boss, None
    )


def tie(member: int, stakeholder: int, strength: int, days_ago: int | None, hand_set: bool = False) -> Tie:
    last = TODAY - dt.timedelta(days=days_ago) if days_ago is not None else None
    return Tie(member, stakeholder, strength, strength, hand_set, 0 if last is None else 3, last)


def world(**changes: object) -> RelationshipMap:
    stakeholders = (
        person(HANNA, "Hanna", None, BuyingRole.DECISION_MAKER, Attitude.SUPPORTER, DecisionPower.HIGH, inner=True),
        person(JONAS, "Jonas", HANNA, BuyingRole.ECONOMIC_BUYER, Attitude.NON_SUPPORTER, DecisionPower.HIGH),
        person(LEA, "Lea", HANNA, BuyingRole.CHAMPION, Attitude.MENTOR),
        person(TOM, "Tom", LEA, BuyingRole.TECHNICAL_INFLUENCER, Attitude.NEUTRAL),
        person(ODD, ODD_NAME),
    )
    members = (MapMember(MEGAN, "Megan", True), MapMember(ALEX, "Alex", False), MapMember(ADELE, "Adele", False))
    ties = (
        tie(MEGAN, HANNA, 80, 5),
        tie(ALEX, LEA, 40, 197, hand_set=True),
        tie(ADELE, TOM, 10, None, hand_set=True),
        tie(MEGAN, JONAS, 60, 365),
    )
    gaps = (
        Gap(GapKind.SINGLE_THREADED, (HANNA,)),
        Gap(GapKind.OPPONENT_OUTWEIGHS, (JONAS,)),
        Gap(GapKind.ROLE_UNFILLED, (), BuyingRole.GATEKEEPER),
    )
    values: dict[str, object] = {
        "account_id": 1,
        "today": TODAY,
        "stakeholders": stakeholders,
        "members": members,
        "ties": ties,
        "influences": ((JONAS, HANNA), (TOM, LEA)),
        "gaps": gaps,
    }
    return RelationshipMap(**{**values, **changes})  # type: ignore[arg-type]


def drawn_svg(relationship_map: RelationshipMap) -> ET.Element:
    return ET.fromstring(str(draw_map(relationship_map, Texts("en"), "Map of Contoso").svg))


def test_the_org_chart_runs_left_to_right_with_our_people_in_a_column_beside_it() -> None:
    placed = layout(world())
    corners = [*placed.stakeholders.values(), *placed.members.values()]
    assert len(set(corners)) == len(corners) == 8, "every box has its own place"
    x = {id: corner[0] for id, corner in placed.stakeholders.items()}
    assert x[HANNA] < x[JONAS] == x[LEA] < x[TOM], "a boss stands left of the people reporting to them"
    assert x[ODD] == x[HANNA], "who reports to nobody stands in the first column of the org chart"
    ours = {corner[0] for corner in placed.members.values()}
    assert len(ours) == 1 and max(ours) + MEMBER_WIDTH < min(x.values()), "ours: one column, left of theirs"
    assert placed.width >= x[TOM] + BOX_WIDTH and placed.height > max(c[1] for c in corners)


def test_a_reports_to_loop_or_a_boss_off_the_map_does_not_stop_the_map() -> None:
    loop = (person(1, "A", boss=2), person(2, "B", boss=1), person(3, "C", boss=99), person(4, "D", boss=3))
    depth = reports_to_depth(loop)
    assert depth[3] == 0 and depth[4] == 1, "a boss not on the map: a root"
    assert sorted((depth[1], depth[2])) == [0, 1], "the loop is cut once"
    placed = layout(world(stakeholders=loop, ties=(), influences=(), gaps=()))
    assert len(set(placed.stakeholders.values())) == 4
    svg = drawn_svg(world(stakeholders=loop, ties=(), influences=(), gaps=()))
    assert len([p for p in svg.iter(f"{SVG}path") if p.get("class") == "reports"]) == 2, "B under A, D under C"


def test_every_name_is_escaped_and_the_image_is_named_and_described() -> None:
    drawn = draw_map(world(), Texts("en"), "Map of <Contoso>")
    assert "<script>" not in str(drawn.svg)
    svg = ET.fromstring(str(drawn.svg))  # it parses: nothing the customer typed broke out of its text
    assert svg.get("role") == "img" and svg.findtext(f"{SVG}title") == "Map of <Contoso>"
    assert "map-table" in (svg.get("aria-describedby") or "").split()
    assert (svg.findtext(f"{SVG}desc") or "").startswith("5 people at the customer, 3 of ours, 4 lines of who")
    names = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "name"]
    assert names[:3] == ["Megan", "Alex", "Adele"] and '<script>alert("x")</s…' in names, "cut to fit"


def test_boxes_are_coloured_by_support_level_and_marked_with_its_symbol() -> None:
    svg = drawn_svg(world())
    boxes = {g.get("data-stakeholder"): g for g in svg.iter(f"{SVG}g") if g.get("data-stakeholder")}
    classes = {int(id or 0): (g.get("class") or "").split() for id, g in boxes.items()}
    assert "support-supporter" in classes[HANNA] and "inner" in classes[HANNA] and "flagged" in classes[HANNA]
    assert "support-non-supporter" in classes[JONAS] and "flagged" in classes[JONAS]
    assert "support-mentor" in classes[LEA] and "support-neutral" in classes[TOM]
    assert "support-unknown" in classes[ODD] and "flagged" not in classes[ODD]
    symbols = {id: next(t.text for t in g.iter(f"{SVG}text") if t.get("class") == "symbol") for id, g in boxes.items()}
    assert symbols == {str(HANNA): "+", str(JONAS): "−", str(LEA): "++", str(TOM): "=", str(ODD): "?"}
    hanna = [t.text for t in boxes[str(HANNA)].iter(f"{SVG}text")]
    assert "Decision maker · Power: High" in hanna and "★" in hanna
    assert len([g for g in svg.iter(f"{SVG}g") if g.get("class") == "gap-flag"]) == 2


def test_lines_reports_to_solid_influence_dashed_with_an_arrow_and_ties_by_strength_and_age() -> None:
    svg = drawn_svg(world())
    paths = list(svg.iter(f"{SVG}path"))
    assert len([p for p in paths if p.get("class") == "reports"]) == 3, "Jonas and Lea to Hanna, Tom to Lea"
    influences = [p for p in paths if p.get("class") == "influence"]
    assert len(influences) == 2 and all(p.get("marker-end") == "url(#map-arrow)" for p in influences)
    ties = [p for p in paths if (p.get("class") or "").startswith("tie")]
    by_strength = sorted(ties, key=lambda p: int(p.get("data-strength") or 0))
    widths = [float(p.get("stroke-width") or 0) for p in by_strength]
    assert widths == [1.5, 3.0, 4.0, 5.0], "1 + 5 x strength/100 for 10, 40, 60, 80"
    opacity = {int(p.get("data-strength") or 0): float(p.get("stroke-opacity") or 0) for p in ties}
    assert opacity == {80: 1.0, 40: 0.68, 10: 0.35, 60: 0.35}, "5 days: full; 197: half a year faded; none, 365"
    hand_set = [int(p.get("data-strength") or 0) for p in ties if p.get("marker-end") == "url(#map-hand-set)"]
    assert sorted(hand_set) == [10, 40] and all("hand-set" in (p.get("class") or "") for p in by_strength[:2])


def test_tie_width_and_fading_worked_out_by_hand() -> None:
    assert [tie_width(s) for s in (0, 50, 100, 130, -5)] == [1.0, 3.5, 6.0, 6.0, 1.0]
    days = [0, 30, 31, 365, 800]
    assert [tie_opacity(TODAY - dt.timedelta(days=d), TODAY) for d in days] == [1.0, 1.0, 1.0, 0.35, 0.35]
    assert tie_opacity(TODAY - dt.timedelta(days=197), TODAY) == 0.68  # 1 - 0.65 x (197 - 30) / (365 - 30)
    assert tie_opacity(None, TODAY) == 0.35


def test_the_table_has_a_row_per_customer_person_with_the_same_facts() -> None:
    t = Texts("en")
    rows = {row.id: row for row in draw_map(world(), t, "Map").rows}
    assert list(rows) == [HANNA, JONAS, LEA, TOM, ODD]
    hanna, jonas, lea, odd = rows[HANNA], rows[JONAS], rows[LEA], rows[ODD]
    assert (hanna.role, hanna.support, hanna.power, hanna.inner_circle) == ("Decision maker", "Supporter", "High", True)
    assert hanna.flags == ("Decision maker known by only one of us",) and hanna.influenced_by == ("Jonas",)
    assert jonas.reports_to == "Hanna" and jonas.influences == ("Hanna",)
    assert jonas.flags == ("Non-supporter with more influence than our supporters",)
    assert [known_text(k, t) for k in jonas.known_by] == ["Megan: strength 60, last contact 2025-12-05"]
    assert [known_text(k, t) for k in lea.known_by] == ["Alex: strength 40, last contact 2026-05-22 (set by hand)"]
    assert (
        known_text(KnownBy("Adele", 10, True, None), t) == "Adele: strength 10, last contact none logged (set by hand)"
    )
    assert (odd.name, odd.reports_to, odd.support, odd.symbol, odd.flags) == (
        ODD_NAME,
        "",
        "Support not known",
        "?",
        (),
    )


def test_the_map_speaks_german() -> None:
    rows = draw_map(world(), Texts("de"), "Karte").rows
    assert rows[0].support == "Befürworter" and rows[0].flags == ("Entscheider, den nur einer von uns kennt",)
