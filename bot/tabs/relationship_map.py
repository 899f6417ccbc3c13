"""The relationship map of the Stakeholders tab: the customer's org chart with our people beside it, as SVG.

igraph's Sugiyama layout places the boxes: our people in the first layer, the customer's people in the next
ones by their depth in the reports-to chart, so that read across (the layers become columns) the org chart runs
from left to right with our people in a column beside it. Only the reports-to lines go into the layout: the
lines of who of ours knows whom would add a dummy node per column crossed and stretch the map without
making it clearer.

As with the charts (bot/tabs/charts.py), colours are classes styled in tab.css with the theme's tokens, and
never carry a meaning alone: each support level has its symbol, gaps a warning sign, hand-set strengths a
diamond. The SVG is an image with a name and a description that points at the same map as a table (`rows`),
which the page always shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

import igraph
from markupsafe import Markup

from cards.fit import shorten
from cards.i18n import Texts
from kam.models import Attitude
from kam.relationships import Gap, MapMember, MapStakeholder, RelationshipMap, Tie

BOX_WIDTH, BOX_HEIGHT = 210, 62
MEMBER_WIDTH, MEMBER_HEIGHT = 170, 44
ROW_STEP = BOX_HEIGHT + 18  # one layer position, down the page
COLUMN_GAP = 90  # between two columns of the org chart: room for the reports-to and influence lines
MEMBER_GAP = 150  # between our column and the org chart: room for the lines of who knows whom
MARGIN = 16
NAME_CHARACTERS, LINE_CHARACTERS = 22, 30  # what fits in a box at the page's font size
FRESH_DAYS, STALE_DAYS = 30, 365  # a line is fully drawn up to a month after the last contact, palest after a year
PALEST = 0.35

SYMBOLS: dict[Attitude | None, str] = {
    Attitude.MENTOR: "++",
    Attitude.SUPPORTER: "+",
    Attitude.NEUTRAL: "=",
    Attitude.NON_SUPPORTER: "−",
    None: "?",
}


def support_class(support: Attitude | None) -> str:
    """The CSS class of a support level (`support-unknown` where nobody has judged it)."""
    return "support-" + (support.value.replace("_", "-") if support else "unknown")


@dataclass(frozen=True)
class MapLayout:
    """Top-left corners of the boxes in SVG units, the reports-to lines drawn, and the size of the picture."""

    stakeholders: dict[int, tuple[float, float]]
    members: dict[int, tuple[float, float]]
    bosses: dict[int, int]  # person -> boss, for each reports-to line drawn
    width: int
    height: int


def reports_to_depth(stakeholders: Iterable[MapStakeholder]) -> dict[int, int]:
    """How many bosses up each person's reports-to chain has; a boss not on the map, or a loop, ends a chain."""
    boss = {s.id: s.reports_to_id for s in stakeholders}
    depth: dict[int, int] = {}
    for start in boss:
        chain: list[int] = []
        current: int | None = start
        while current is not None and current in boss and current not in depth and current not in chain:
            chain.append(current)
            current = boss[current]
        known = depth[current] + 1 if current is not None and current in depth else 0
        for offset, person in enumerate(reversed(chain)):
            depth[person] = known + offset
    return depth


def layout(relationship_map: RelationshipMap) -> MapLayout:
    """Sugiyama's layered layout (igraph), turned so that its layers are columns."""
    members, stakeholders = relationship_map.members, relationship_map.stakeholders
    depth = reports_to_depth(stakeholders)
    index = {s.id: len(members) + n for n, s in enumerate(stakeholders)}
    bosses = {s.id: boss for s in stakeholders if (boss := _boss_of(s, depth)) is not None}
    edges = [(index[boss], index[report]) for report, boss in bosses.items()]
    graph = igraph.Graph(n=len(members) + len(stakeholders), edges=edges, directed=True)
    layers = [0] * len(members) + [1 + depth[s.id] for s in stakeholders]
    coordinates = graph.layout_sugiyama(layers=layers).coords[: len(members) + len(stakeholders)]

    def column_x(layer: int) -> float:
        return MARGIN + (MEMBER_WIDTH + MEMBER_GAP if layer else 0) + max(layer - 1, 0) * (BOX_WIDTH + COLUMN_GAP)

    placed_members = {m.person_id: (column_x(0), MARGIN + coordinates[n][0] * ROW_STEP) for n, m in enumerate(members)}
    placed_stakeholders = {
        s.id: (column_x(layers[index[s.id]]), MARGIN + coordinates[index[s.id]][0] * ROW_STEP) for s in stakeholders
    }
    rights = [x + MEMBER_WIDTH for x, _ in placed_members.values()] + [
        x + BOX_WIDTH for x, _ in placed_stakeholders.values()
    ]
    bottoms = [y + BOX_HEIGHT for _, y in (*placed_members.values(), *placed_stakeholders.values())]
    return MapLayout(
        placed_stakeholders,
        placed_members,
        bosses,
        int(max(rights, default=0) + MARGIN + 12),  # room for a gap sign on a box's corner
        int(max(bottoms, default=0) + MARGIN),
    )


def _boss_of(stakeholder: MapStakeholder, depth: dict[int, int]) -> int | None:
    """The boss drawn as such: on the map and one column to the left (not where a loop was cut)."""
    boss = stakeholder.reports_to_id
    return boss if boss is not None and boss in depth and depth[boss] + 1 == depth[stakeholder.id] else None


@dataclass(frozen=True)
class KnownBy:
    name: str
    strength: int
    hand_set: bool
    last_met: dt.date | None


@dataclass(frozen=True)
class MapRow:
    """One customer person in the map's text alternative."""

    id: int
    name: str
    title: str
    reports_to: str
    role: str
    support: str
    symbol: str
    power: str
    inner_circle: bool
    known_by: tuple[KnownBy, ...]
    influences: tuple[str, ...]
    influenced_by: tuple[str, ...]
    flags: tuple[str, ...]


@dataclass(frozen=True)
class LegendEntry:
    css: str
    symbol: str
    label: str


@dataclass(frozen=True)
class DrawnMap:
    svg: Markup
    rows: tuple[MapRow, ...]
    legend: tuple[LegendEntry, ...]


def tie_width(strength: int) -> float:
    """1 px for the weakest tie up to 6 px for the strongest."""
    return round(1 + 5 * min(max(strength, 0), 100) / 100, 1)


def tie_opacity(last_met: dt.date | None, today: dt.date) -> float:
    """Full within a month of the last contact, fading to PALEST over the year after; PALEST without one."""
    if last_met is None:
        return PALEST
    days = (today - last_met).days
    if days <= FRESH_DAYS:
        return 1.0
    faded = min(days - FRESH_DAYS, STALE_DAYS - FRESH_DAYS) / (STALE_DAYS - FRESH_DAYS)
    return round(1 - (1 - PALEST) * faded, 2)


def flags_by_stakeholder(gaps: Iterable[Gap]) -> dict[int, list[str]]:
    """The kinds of gap each person is named in, in the order of the gaps."""
    flagged: dict[int, list[str]] = {}
    for gap in gaps:
        for stakeholder_id in gap.stakeholder_ids:
            kinds = flagged.setdefault(stakeholder_id, [])
            if gap.kind.value not in kinds:
                kinds.append(gap.kind.value)
    return flagged


def draw_map(relationship_map: RelationshipMap, t: Texts, title: str) -> DrawnMap:
    """The map as SVG with its legend, and the same map as table rows (`title` names the image)."""
    placed = layout(relationship_map)
    people = {s.id: s for s in relationship_map.stakeholders}
    ours = {m.person_id: m for m in relationship_map.members}
    flags = flags_by_stakeholder(relationship_map.gaps)
    parts: list[str] = [_DEFINITIONS]
    ties = [tie for tie in relationship_map.ties if tie.person_id in ours and tie.stakeholder_id in people]
    influences = [(a, b) for a, b in relationship_map.influences if a in people and b in people and a != b]
    parts += (
        _tie(tie, ours[tie.person_id].name, people[tie.stakeholder_id].name, placed, relationship_map.today, t)
        for tie in ties
    )
    parts += (_reports_to(placed, boss, report) for report, boss in placed.bosses.items())
    parts += (_influence(placed, source, target) for source, target in influences)
    parts += (_member(member, placed, t) for member in relationship_map.members)
    parts += (_stakeholder(s, placed, flags.get(s.id, []), t) for s in relationship_map.stakeholders)
    description = t("map.svg_desc", people=len(people), members=len(ours), ties=len(ties))
    svg = Markup(
        f'<svg class="map" viewBox="0 0 {placed.width} {placed.height}" width="{placed.width}" '
        f'height="{placed.height}" role="img" aria-labelledby="map-title" aria-describedby="map-desc map-table" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="map-title">{escape(title)}</title>'
        f'<desc id="map-desc">{escape(description)}</desc>{"".join(parts)}</svg>'
    )
    known_by: dict[int, list[KnownBy]] = {}
    for tie in ties:
        known_by.setdefault(tie.stakeholder_id, []).append(
            KnownBy(ours[tie.person_id].name, tie.strength, tie.hand_set, tie.last_met)
        )
    sways: dict[int, list[str]] = {}
    swayed_by: dict[int, list[str]] = {}
    for source, target in influences:
        sways.setdefault(source, []).append(people[target].name)
        swayed_by.setdefault(target, []).append(people[source].name)
    rows = tuple(
        _row(s, people, known_by.get(s.id, []), sways.get(s.id, []), swayed_by.get(s.id, []), flags.get(s.id, []), t)
        for s in relationship_map.stakeholders
    )
    return DrawnMap(svg, rows, legend(t))


def legend(t: Texts) -> tuple[LegendEntry, ...]:
    levels = [*Attitude, None]
    return tuple(LegendEntry(support_class(level), SYMBOLS[level], _support_text(level, t)) for level in levels)


def _support_text(support: Attitude | None, t: Texts) -> str:
    return t(f"attitude.{support.value}") if support else t("map.support.unknown")


def _left_middle(corner: tuple[float, float], height: int) -> tuple[float, float]:
    return corner[0], corner[1] + height / 2


def _right_middle(corner: tuple[float, float], width: int, height: int) -> tuple[float, float]:
    return corner[0] + width, corner[1] + height / 2


# The arrow at the end of an influence line and the diamond on a hand-set tie, styled by tab.css.
_DEFINITIONS = (
    '<defs><marker id="map-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" '
    'orient="auto-start-reverse"><path class="arrow" d="M0,0 L10,5 L0,10 z"/></marker>'
    '<marker id="map-hand-set" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="9" markerHeight="9" '
    'markerUnits="userSpaceOnUse"><path class="diamond" d="M5,0 L10,5 L5,10 L0,5 z"/></marker></defs>'
)


def _tie(tie: Tie, member: str, stakeholder: str, placed: MapLayout, today: dt.date, t: Texts) -> str:
    x1, y1 = _right_middle(placed.members[tie.person_id], MEMBER_WIDTH, MEMBER_HEIGHT)
    x2, y2 = _left_middle(placed.stakeholders[tie.stakeholder_id], BOX_HEIGHT)
    bend = (x2 - x1) / 2
    marker = ' marker-end="url(#map-hand-set)"' if tie.hand_set else ""
    said = _known_text(KnownBy(member, tie.strength, tie.hand_set, tie.last_met), t)
    return (
        f'<path class="tie{" hand-set" if tie.hand_set else ""}" data-strength="{tie.strength}" '
        f'd="M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}" '
        f'stroke-width="{tie_width(tie.strength)}" stroke-opacity="{tie_opacity(tie.last_met, today)}"{marker}>'
        f"<title>{escape(t('map.tie', member=member, stakeholder=stakeholder, known=said))}</title></path>"
    )


def _reports_to(placed: MapLayout, boss: int, report: int) -> str:
    x1, y1 = _right_middle(placed.stakeholders[boss], BOX_WIDTH, BOX_HEIGHT)
    x2, y2 = _left_middle(placed.stakeholders[report], BOX_HEIGHT)
    middle = x1 + COLUMN_GAP / 2
    return f'<path class="reports" d="M{x1:.1f},{y1:.1f} H{middle:.1f} V{y2:.1f} H{x2:.1f}"/>'


def _influence(placed: MapLayout, source: int, target: int) -> str:
    """A dashed curve with an arrow: round the right side between people in one column, else side to side."""
    (sx, sy), (tx, ty) = placed.stakeholders[source], placed.stakeholders[target]
    if sx == tx:
        x, y1, y2 = sx + BOX_WIDTH, sy + BOX_HEIGHT / 2, ty + BOX_HEIGHT / 2
        reach = COLUMN_GAP * 0.4 + min(abs(y2 - y1), 4 * ROW_STEP) * 0.05
        path = f"M{x:.1f},{y1:.1f} C{x + reach:.1f},{y1:.1f} {x + reach:.1f},{y2:.1f} {x:.1f},{y2:.1f}"
    else:
        forward = tx > sx
        x1 = sx + BOX_WIDTH if forward else sx
        x2 = tx if forward else tx + BOX_WIDTH
        y1, y2 = sy + BOX_HEIGHT * 0.7, ty + BOX_HEIGHT * 0.7
        bend = (x2 - x1) / 2
        path = f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
    return f'<path class="influence" d="{path}" marker-end="url(#map-arrow)"/>'


def _text(css: str, x: float, y: float, text: str) -> str:
    return f'<text class="{css}" x="{x:.1f}" y="{y:.1f}">{escape(text)}</text>'


def _member(member: MapMember, placed: MapLayout, t: Texts) -> str:
    x, y = placed.members[member.person_id]
    role = t("map.ka_manager") if member.is_manager else t("map.member")
    return (
        f'<g class="member" data-person="{member.person_id}"><title>{escape(member.name)}: {escape(role)}</title>'
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{MEMBER_WIDTH}" height="{MEMBER_HEIGHT}" rx="{MEMBER_HEIGHT / 2}"/>'
        + _text("name", x + 16, y + 18, shorten(member.name, NAME_CHARACTERS))
        + _text("sub", x + 16, y + 34, role)
        + "</g>"
    )


def _stakeholder(person: MapStakeholder, placed: MapLayout, flags: list[str], t: Texts) -> str:
    """A box: support symbol and name, title, buying-centre role and decision power; the inner circle starred."""
    x, y = placed.stakeholders[person.id]
    role = t(f"buying_role.{person.buying_role.value}") if person.buying_role else ""
    power = t("map.power_short", level=t(f"map.power.{person.decision_power.value}")) if person.decision_power else ""
    detail = " · ".join(part for part in (role, power) if part)
    said = [person.name, person.title or "", _support_text(person.support, t), detail]
    if person.inner_circle:
        said.append(t("map.legend.inner"))
    said += [t(f"map.flag.{kind}") for kind in flags]
    css = " ".join(
        ["person", support_class(person.support)] + ["inner"] * person.inner_circle + ["flagged"] * bool(flags)
    )
    box = (
        f'<g class="{css}" data-stakeholder="{person.id}"><title>{escape(" · ".join(p for p in said if p))}</title>'
        f'<rect class="box" x="{x:.1f}" y="{y:.1f}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="6"/>'
        f'<rect class="stripe" x="{x:.1f}" y="{y:.1f}" width="7" height="{BOX_HEIGHT}" rx="3"/>'
        + _text("symbol", x + 14, y + 19, SYMBOLS[person.support])
        + _text("name", x + 36, y + 19, shorten(person.name, NAME_CHARACTERS - 3 * person.inner_circle))
        + _text("sub", x + 14, y + 37, shorten(person.title or "", LINE_CHARACTERS))
        + _text("sub", x + 14, y + 54, shorten(detail, LINE_CHARACTERS))
    )
    if person.inner_circle:
        box += _text("inner-mark", x + BOX_WIDTH - 32, y + 19, "★")
    if flags:  # a warning sign on the box's top right corner
        cx, cy = x + BOX_WIDTH, y
        box += (
            f'<g class="gap-flag"><path class="sign" d="M{cx:.1f},{cy - 11:.1f} L{cx + 11:.1f},{cy + 9:.1f} '
            f'L{cx - 11:.1f},{cy + 9:.1f} z"/><path class="mark" d="M{cx:.1f},{cy - 4:.1f} V{cy + 2:.1f} '
            f'M{cx:.1f},{cy + 4.5:.1f} V{cy + 6:.1f}"/></g>'
        )
    return box + "</g>"


def _known_text(known: KnownBy, t: Texts) -> str:
    last = known.last_met.isoformat() if known.last_met else t("map.never_met")
    text = t("map.known", strength=known.strength, last=last)
    return f"{text} ({t('map.hand_set')})" if known.hand_set else text


def known_text(known: KnownBy, t: Texts) -> str:
    """'Megan Bowen: strength 70, last contact 2026-11-02 (set by hand)': one entry of the table."""
    return f"{known.name}: {_known_text(known, t)}"


def _row(
    person: MapStakeholder,
    people: dict[int, MapStakeholder],
    known_by: list[KnownBy],
    influences: list[str],
    influenced_by: list[str],
    flags: list[str],
    t: Texts,
) -> MapRow:
    boss = people.get(person.reports_to_id) if person.reports_to_id is not None else None
    return MapRow(
        id=person.id,
        name=person.name,
        title=person.title or "",
        reports_to=boss.name if boss else "",
        role=t(f"buying_role.{person.buying_role.value}") if person.buying_role else "",
        support=_support_text(person.support, t),
        symbol=SYMBOLS[person.support],
        power=t(f"map.power.{person.decision_power.value}") if person.decision_power else "",
        inner_circle=person.inner_circle,
        known_by=tuple(sorted(known_by, key=lambda known: -known.strength)),
        influences=tuple(influences),
        influenced_by=tuple(influenced_by),
        flags=tuple(t(f"map.flag.{kind}") for kind in flags),
    )
