"""Coverage gaps in words, for every place that names them: the digest, the map page, the summary card.

The lines hold user text (the customer's and our people's names): put them in TextRuns (cards.build.plain).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cards.fit import NAME_WIDTH, names_text, shorten
from cards.i18n import Texts
from kam.relationships import Gap, GapKind, RelationshipMap

SINGLE_THREADED_SHOWN = 3  # decision makers named one by one; the rest are counted
NAMES_SHOWN = 3  # people named in one gap's line; the rest are counted


def gap_lines(t: Texts, gaps: Sequence[Gap], names: Mapping[int, str], member_names: Mapping[int, str]) -> list[str]:
    """One line per gap, in the order of `gaps`; the unfilled roles share one line (where the first of them
    is), a single-threaded decision maker gets a line each (a few).

    `names`: stakeholder id -> name; `member_names`: person id -> name (ours).
    """
    unfilled = [t(f"buying_role.{gap.role.value}") for gap in gaps if gap.role is not None]
    lines: list[str] = []
    for gap in gaps:
        named = [names[i] for i in gap.stakeholder_ids if i in names]
        if gap.kind == GapKind.NO_DECISION_MAKER:
            lines.append(t("gap.no_decision_maker"))
        elif gap.kind == GapKind.ROLE_UNFILLED and unfilled:
            lines.append(t("gap.role_unfilled", roles=", ".join(unfilled)))
            unfilled = []
        elif gap.kind == GapKind.SINGLE_THREADED:
            pairs = [(names.get(s), member_names.get(p)) for s, p in zip(gap.stakeholder_ids, gap.person_ids)]
            known = [(name, member) for name, member in pairs if name is not None and member is not None]
            lines += [
                t("gap.single_threaded", name=shorten(name, NAME_WIDTH), member=shorten(member, NAME_WIDTH))
                for name, member in known[:SINGLE_THREADED_SHOWN]
            ]
            if len(known) > SINGLE_THREADED_SHOWN:
                lines.append(t("gap.single_threaded.more", count=len(known) - SINGLE_THREADED_SHOWN))
        elif gap.kind == GapKind.EXECUTIVES_NOT_MET:
            lines.append(t("gap.executives_not_met", names=names_text(t, named, most=NAMES_SHOWN)))
        elif gap.kind == GapKind.OPPONENT_OUTWEIGHS:
            lines.append(t("gap.opponent_outweighs", names=names_text(t, named, most=NAMES_SHOWN)))
    return lines


def map_gap_lines(t: Texts, relationship_map: RelationshipMap) -> list[str]:
    """The gaps of a relationship map in words, named from the map itself."""
    names = {s.id: s.name for s in relationship_map.stakeholders}
    member_names = {m.person_id: m.name for m in relationship_map.members}
    return gap_lines(t, relationship_map.gaps, names, member_names)
