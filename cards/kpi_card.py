"""The monthly KPI card (kam.kpi_cards): a KA manager's accounts, or the head of KAM's portfolio with the dependency
risk and the thresholds it crossed; each with a link to the page that has the whole."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from microsoft_teams.cards import ActionSet, CardElement, Container, OpenUrlAction

from cards.build import callout, card, heading, plain, static
from cards.fit import first
from cards.i18n import Texts
from kam.dependency import DependencyRisk
from kam.kpis import AccountKpis
from kam.models import Tier

ACCOUNTS_SHOWN = 10  # on a KA manager's card; the portfolio page has every one
DEPENDENCY_FIGURES = ("top1_share", "top5_share", "top10_share", "herfindahl", "key_account_share")


@dataclass(frozen=True)
class AccountFigures:
    name: str
    tier: Tier
    kpis: AccountKpis
    link: str | None  # the account's Insights page


def _share(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "—"


def _number(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else "—"


def account_lines(t: Texts, figures: AccountFigures) -> list[CardElement]:
    k = figures.kpis
    lines: list[CardElement] = [
        plain(figures.name, bold=True),
        static(t(f"tier.{figures.tier.value}"), subtle=True),
        static(
            t(
                "kpi.card.flow",
                ack=_share(k.flow.acknowledged_within_24h),
                minutes=_number(k.flow.post_minutes_median),
                meetings=_share(k.flow.meetings_logged_within_2_workdays),
            )
        ),
    ]
    if k.relationships is not None:
        lines.append(static(t("kpi.card.relationships", share=_share(k.relationships.decision_makers_met_90d))))
    if k.plan is not None:
        lines.append(
            static(t("kpi.card.plan", done=k.plan.actions_done, total=k.plan.actions, late=k.plan.actions_late))
        )
    if k.results is not None and (k.results.revenue is not None or k.results.revenue_target is not None):
        lines.append(
            static(
                t(
                    "kpi.card.results",
                    year=k.results.year,
                    revenue=_number(k.results.revenue),
                    target=_number(k.results.revenue_target),
                )
            )
        )
    if figures.link:
        lines.append(ActionSet(actions=[OpenUrlAction(title=t("kpi.card.open_insights"), url=figures.link)]))
    return lines


def manager_kpi_card(t: Texts, month: str, accounts: Sequence[AccountFigures]) -> dict[str, Any]:
    shown, more = first(list(accounts), ACCOUNTS_SHOWN)
    body: list[CardElement] = [heading(t("kpi.card.manager_title", month=month)), static(t("kpi.card.manager_body"))]
    for figures in shown:
        body.append(Container(separator=True, items=account_lines(t, figures)))
    if more:
        body.append(static(t("kpi.card.more", count=more), subtle=True))
    return card(body, fallback_text=t("kpi.card.manager_title", month=month))


def head_kpi_card(
    t: Texts,
    month: str,
    kpis: Sequence[AccountKpis],
    risk: DependencyRisk,
    crossed: Sequence[str],
    thresholds: dict[str, float],
    link: str | None,
) -> dict[str, Any]:
    """The portfolio at a glance: how information flows, how the plans go, and the dependency risk."""
    acknowledged = [k.flow.acknowledged_within_24h for k in kpis if k.flow.acknowledged_within_24h is not None]
    met = [
        k.relationships.decision_makers_met_90d
        for k in kpis
        if k.relationships is not None and k.relationships.decision_makers_met_90d is not None
    ]
    late = sum(1 for k in kpis if k.plan is not None and k.plan.actions_late)
    body: list[CardElement] = [
        heading(t("kpi.card.head_title", month=month)),
        static(
            t(
                "kpi.card.portfolio",
                accounts=len(kpis),
                ack=_share(statistics.median(acknowledged) if acknowledged else None),
                met=_share(statistics.median(met) if met else None),
                late=late,
            )
        ),
        static(t("kpi.card.dependency", year=risk.year), bold=True),
    ]
    for name in DEPENDENCY_FIGURES:
        value = getattr(risk, name)
        shown = f"{value:.2f}" if name == "herfindahl" and value is not None else _share(value)
        line = t(f"kpi.card.dependency.{name}", value=shown)
        if name in crossed:
            limit_key = "key_account_share_min" if name == "key_account_share" else name
            limit = thresholds.get(limit_key, 0.0)
            limit_text = f"{limit:.2f}" if name == "herfindahl" else f"{limit:.0%}"
            body.append(callout(t("kpi.card.crossed", figure=line, threshold=limit_text), "attention", user_text=False))
        else:
            body.append(static(line))
    if not crossed:
        body.append(static(t("kpi.card.no_risk"), subtle=True))
    actions = [OpenUrlAction(title=t("kpi.card.open_portfolio"), url=link)] if link else []
    return card(body, actions, fallback_text=t("kpi.card.head_title", month=month))
