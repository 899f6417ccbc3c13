"""The health score in words: the lines the account summary card shows, and the card that tells a KA manager their
account's score fell, and why (kam.health)."""

from __future__ import annotations

from typing import Any

from microsoft_teams.cards import ActionSet, CardElement, OpenUrlAction

from cards.build import card, heading, static
from cards.i18n import Texts
from kam.health import Drop, Health, Part
from kam.relationships import GapKind


def part_name(t: Texts, part: Part) -> str:
    return t(f"health.part.{part.value}")


def value_text(t: Texts, value: float | None) -> str:
    """A part's value as a share, or "not counted" without one."""
    return t("health.not_counted") if value is None else f"{value:.0%}"


def health_lines(t: Texts, health: Health | None) -> list[CardElement]:
    """The score, the two parts that cost the most points and the kinds of coverage gaps: no figure of a part and
    nobody's name, since the summary card is read wherever it is shared."""
    if health is None or health.score is None:
        return [static(t("health.no_score"), subtle=True)]
    lines: list[CardElement] = [static(t("health.score", score=health.score), bold=True)]
    costliest = health.costliest()
    if costliest:
        lines.append(static(t("health.costs", parts="; ".join(part_name(t, p.part) for p in costliest))))
    if health.gaps:
        kinds = "; ".join(t(f"health.gap.{GapKind(kind).value}") for kind in health.gaps)
        lines.append(static(t("health.gaps", gaps=kinds), subtle=True))
    return lines


def health_drop_card(t: Texts, account_name: str, drop: Drop, day: str, link: str | None) -> dict[str, Any]:
    """To a KA manager: the account's score before and now, each part that fell with its value then and now, and
    a link to the Insights tab with the whole."""
    title = t("health.drop.title", account=account_name, before=drop.before, now=drop.now)
    body: list[CardElement] = [heading(title)]
    if drop.fallen:
        body.append(static(t("health.drop.body", day=day)))
        for fallen in drop.fallen:
            before, now = value_text(t, fallen.before), value_text(t, fallen.now)
            body.append(static(t("health.drop.part", part=part_name(t, fallen.part), before=before, now=now)))
    else:
        body.append(static(t("health.drop.none")))
    if link:
        body.append(ActionSet(actions=[OpenUrlAction(title=t("kpi.card.open_insights"), url=link)]))
    return card(body, fallback_text=title)
