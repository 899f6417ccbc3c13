"""The warnings that matter most are readable in every Teams theme: at least 4.5:1 (WCAG 2.1 AA) between each
warning's text and what is behind it, in Teams' light, dark and high-contrast host configs.

Where the colours come from:
- light and dark: Microsoft's Teams host configs as the Adaptive Cards Designer renders Teams with them, from the
  npm package adaptivecards-designer 2.4.4 (lib/hostConfigs/microsoft-teams-light.json and
  microsoft-teams-dark.json), read from node_modules as installed by package.json.
- high contrast: Microsoft publishes no Teams high-contrast host config (neither in that package nor among the
  Adaptive Cards repository's samples/HostConfig). HIGH_CONTRAST below holds the colours of the one public
  rendition of it, createHighContrastTeamsHostConfig of the PnP SPFx controls (npm @pnp/spfx-controls-react,
  src/controls/adaptiveCardHost/fluentUI/HostConfig.ts, with its Teams high-contrast Fluent theme): white text on
  black, and the coloured container styles with black text. That package is a SharePoint control library with
  a React tree behind it and builds the config in code, so its values are recorded here rather than installed.

Colours in host configs are #RRGGBB or #AARRGGBB; a colour with alpha is laid over what is behind it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from coloraide import Color

from cards.acknowledge import AckEntry, Attention, FlagView, card_with_attention, flag_text
from cards.decision import DecisionView, channel_decision_card, decision_logged_card
from cards.i18n import Texts
from cards.review import ReviewView, review_card
from cards.rules import rules_card
from kam.models import Account, DecisionCategory, FlagKind, ItemKind, Tier
from kam.rules import Rules

ROOT = Path(__file__).resolve().parents[2]
DESIGNER_CONFIGS = ROOT / "node_modules" / "adaptivecards-designer" / "lib" / "hostConfigs"
AA = 4.5
TODAY = dt.date(2026, 12, 5)

_HC_TEXT = {"default": "#FFFFFF", "subtle": "#D2D2D2"}
_HC_ON_COLOUR = {"default": "#000000"}
HIGH_CONTRAST: dict[str, Any] = {
    "containerStyles": {
        "default": {
            "backgroundColor": "#000000",
            "foregroundColors": {
                "default": {"default": "#F8F8F8", "subtle": "#D2D2D2"},
                "attention": {"default": "#A4262C", "subtle": "#A4262C"},
                "warning": {"default": "#D29200", "subtle": "#D29200"},
                "good": {"default": "#004B1C", "subtle": "#004B1C"},
            },
        },
        "emphasis": {"backgroundColor": "#2F2F2F", "foregroundColors": {"default": _HC_TEXT}},
        "accent": {"backgroundColor": "#1B3345", "foregroundColors": {"default": _HC_TEXT}},
        "good": {"backgroundColor": "#92C353", "foregroundColors": {"default": _HC_ON_COLOUR}},
        "attention": {"backgroundColor": "#D74553", "foregroundColors": {"default": _HC_ON_COLOUR}},
        "warning": {"backgroundColor": "#F8D22A", "foregroundColors": {"default": _HC_ON_COLOUR}},
    }
}


def themes() -> dict[str, dict[str, Any]]:
    loaded = {
        name: json.loads((DESIGNER_CONFIGS / f"microsoft-teams-{name}.json").read_text(encoding="utf-8"))
        for name in ("light", "dark")
    }
    return {**loaded, "high contrast": HIGH_CONTRAST}


def colour(value: str) -> Color:
    digits = value.removeprefix("#")
    if len(digits) == 8:  # #AARRGGBB in host configs; CSS writes the alpha last
        digits = digits[2:] + digits[:2]
    return Color(f"#{digits}")


def over(top: str, behind: Color) -> Color:
    return Color.layer([colour(top), behind], space="srgb")


@dataclass(frozen=True)
class Shown:
    """A piece of text on a card, with the container style it sits in and its own colour."""

    text: str
    styles: tuple[str, ...]  # the container styles around it, outermost first
    color: str
    subtle: bool


def texts(node: Any, styles: tuple[str, ...] = ("default",)) -> Iterator[Shown]:
    if isinstance(node, list):
        for item in node:
            yield from texts(item, styles)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "TextBlock" or node.get("type") == "TextRun":
        yield Shown(node["text"], styles, (node.get("color") or "default").lower(), bool(node.get("isSubtle")))
        return
    if node.get("type") in ("Container", "Column") and node.get("style"):
        styles = (*styles, node["style"].lower())
    for key in ("body", "items", "inlines", "columns"):
        yield from texts(node.get(key), styles)


def contrast(shown: Shown, theme: dict[str, Any]) -> float:
    """The text's contrast with its background, as this theme's host config paints them."""
    styles = theme["containerStyles"]
    behind = colour(styles["default"]["backgroundColor"])
    for style in shown.styles:
        behind = over(styles[style]["backgroundColor"], behind)
    colours = styles[shown.styles[-1]]["foregroundColors"][shown.color]
    text = over(colours["subtle" if shown.subtle else "default"], behind)
    return float(text.contrast(behind, method="wcag21"))


def is_warning(shown: Shown) -> bool:
    """Set apart as something to heed: in a coloured band, or in a colour of its own."""
    return shown.styles[-1] != "default" or shown.color != "default"


def decision_view(needs_confirmation: bool) -> DecisionView:
    return DecisionView(
        "Contoso Pharma",
        "Calibration visits for Q1",
        DecisionCategory.PRICING,
        "We waive the fee.",
        "",
        "Megan Bowen",
        TODAY,
        "",
        "",
        None,
        "Alex Wilber",
        needs_confirmation=needs_confirmation,
    )


def finding(kind: FlagKind, later: bool = False) -> FlagView:
    return FlagView(
        1,
        kind,
        "Second on-site calibration visit",
        "Isaiah Langer",
        TODAY,
        True,
        related_owner="Alex Wilber",
        related_since=TODAY,
        related_topic="Calibration visits for Q1",
        found_later=later,
    )


def attentions(t: Texts) -> list[Attention]:
    """Every finding on its own (a card shows the first two), the overflow line, a banner, a person Teams will
    not let kambot reach, and the viewer's own acknowledgement."""
    alone = [finding(kind) for kind in FlagKind]
    alone += [finding(FlagKind.FREE_AFTER_PAID, later=True), finding(FlagKind.PARALLEL_FRAMEWORK, later=True)]
    entries = [AckEntry("Patti Fernandez", None, True, unreachable=True), AckEntry("Megan Bowen", TODAY, True)]
    many = Attention(ItemKind.DECISION, 3, 7, entries, alone, banner=t("ack.overdue", names="Patti Fernandez"))
    return [
        *(Attention(ItemKind.DECISION, 3, 7, entries, [flag]) for flag in alone),
        many,
        Attention(ItemKind.DECISION, 3, 7, entries, viewer_acknowledged=TODAY),
    ]


def warning_cards(t: Texts) -> list[dict[str, Any]]:
    rules = Rules().for_account(Account(name="Contoso Pharma", tier=Tier.STRATEGIC_KEY_ACCOUNT))
    review = ReviewView(1, 7, "Contoso Pharma", "Megan Bowen", TODAY, False, [], [], ["Patti Fernandez"])
    cards = [card_with_attention(t, [], attention, anyone=True, fallback_text="x") for attention in attentions(t)]
    return [
        *cards,
        decision_logged_card(t, decision_view(needs_confirmation=True), attentions(t)[0]),
        channel_decision_card(t, decision_view(needs_confirmation=True), []),
        review_card(t, review, viewer_id=None, viewer_is_manager=False, refresh_user_ids=[], banner="Reminder"),
        rules_card(
            t,
            account_id=7,
            account_name="Contoso Pharma",
            rules=rules,
            functions=[],
            unfilled=[f"function:f{i}" for i in range(9)],
            editable=False,
            today=TODAY,
            saved=True,
        ),
    ]


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_warning_reaches_4_5_to_1_in_the_light_dark_and_high_contrast_themes(language: str) -> None:
    t = Texts(language)
    shown = [s for card in warning_cards(t) for s in texts(card)]
    warnings = [s for s in shown if is_warning(s)]
    # The warnings that matter most are among those measured, each set apart from the text around it.
    conflicts = (FlagKind.FREE_AFTER_PAID, FlagKind.PARALLEL_FRAMEWORK)
    expected = [flag_text(t, finding(kind)) for kind in FlagKind]
    expected += [flag_text(t, finding(kind, later=True)) for kind in conflicts]
    expected += [t("decision.needs_confirmation"), t("ack.unreachable", names="Patti Fernandez"), "Reminder"]
    missing = [text for text in expected if text not in {s.text for s in warnings}]
    assert not missing, f"shown without being set apart: {missing}"
    too_faint = [
        f"{name}: {contrast(s, theme):.2f}:1 for {s.text[:60]!r} ({s.color} in {s.styles[-1]})"
        for name, theme in themes().items()
        for s in warnings
        if contrast(s, theme) < AA
    ]
    assert not too_faint, "\n".join(too_faint)


def test_the_colours_come_from_the_teams_host_configs() -> None:
    """The measure itself: Teams' "Warning" yellow on a white card is as faint as users reported."""
    light = themes()["light"]
    yellow_on_white = Shown("Framework agreement: open", ("default",), "warning", False)
    assert contrast(yellow_on_white, light) < 1.5
    assert contrast(Shown("text", ("default",), "default", False), light) > 15


@pytest.mark.parametrize("language", ["en", "de"])
def test_no_card_shows_text_below_4_5_to_1_in_any_theme(language: str) -> None:
    """Not only the warnings: every text on every card the bot can send (the size cases hold one per outbox
    kind and per card builder), form errors, the confidential notice and the brief's conflicts among them."""
    from tests.unit.test_card_sizes import CASES

    t = Texts(language)
    low = {
        f"{name} [{theme}] {shown.text[:40]!r}: {ratio:.2f}"
        for name, case in CASES.items()
        for shown in texts(case.build(t))
        for theme, config in themes().items()
        if (ratio := contrast(shown, config)) < AA
    }
    assert not low, "\n".join(sorted(low)[:30])
