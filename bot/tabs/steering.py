"""What the portfolio page, its export and the Insights tab show: figures as cells, charts, results entry.

The page and its export are built from the same cells (`portfolio_cells`), so the file holds what the page
shows: a number where the figure is one, its text otherwise.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from bot.tabs.charts import MatrixPoint, portfolio_matrix, sparkline
from cards.i18n import Texts
from kam.dependency import DependencyRisk, crossed
from kam.health import Health
from kam.kpis import AccountKpis, MonthPoint
from kam.portfolio import SCORE_TOP, PortfolioRow

YEARS_BACK, YEARS_AHEAD = 10, 1  # the years results figures can be entered for, around this one
MAX_FIGURE = 1e13


@dataclass(frozen=True)
class Cell:
    text: str
    number: float | int | None = None  # what the export writes, where the figure is a number

    @property
    def value(self) -> str | float | int:
        return self.number if self.number is not None else self.text


DASH = Cell("—")


def _share(value: float | None) -> Cell:
    return DASH if value is None else Cell(f"{value:.0%}", round(value, 4))


def _minutes(value: float | None) -> Cell:
    return DASH if value is None else Cell(f"{value:.0f} min", round(value, 1))


def _count(value: int | None) -> Cell:
    return DASH if value is None else Cell(str(value), value)


def _money(value: float | None) -> Cell:
    return DASH if value is None else Cell(f"{value:,.0f}".replace(",", "\u202f"), round(value, 2))


def _done_late(done: int, late: int, total: int, t: Texts) -> Cell:
    return Cell(t("kpi.done_late", done=done, total=total, late=late))


PORTFOLIO_COLUMNS = (
    "account",
    "tier",
    "managers",
    "health",
    "post_median",
    "post_p90",
    "acknowledged",
    "meetings_logged",
    "decision_makers",
    "executives",
    "model",
    "objectives",
    "actions",
    "reviews_on_time",
    "conflicts",
    "revenue",
    "margin",
    "potential_exploited",
    "share_of_wallet",
    "revenue_target",
    "plan_saved",
    "attractiveness",
)
SORTABLE = {
    "account": "name",
    "tier": "tier",
    "managers": "manager",
    "health": "health",
    "post_median": "post_minutes",
    "acknowledged": "acknowledged",
    "decision_makers": "decision_makers",
    "actions": "actions_late",
    "revenue": "revenue",
    "attractiveness": "attractiveness",
}


def account_cells(kpis: AccountKpis, t: Texts) -> dict[str, Cell]:
    """One account's figures as the pages show them; a part the viewer may not see is a dash."""
    flow, rel, plan, results = kpis.flow, kpis.relationships, kpis.plan, kpis.results
    cells = {
        "post_median": _minutes(flow.post_minutes_median),
        "post_p90": _minutes(flow.post_minutes_p90),
        "acknowledged": _share(flow.acknowledged_within_24h),
        "meetings_logged": _share(flow.meetings_logged_within_2_workdays),
    }
    cells |= {
        "decision_makers": _share(rel.decision_makers_met_90d) if rel else DASH,
        "executives": _share(rel.executives_met_90d) if rel else DASH,
        "model": Cell(rel.model) if rel and rel.model else DASH,
        "met_by_one": _count(rel.met_by_one_of_us) if rel else DASH,
    }
    if plan is not None:
        cells |= {
            "objectives": _done_late(plan.objectives_done, plan.objectives_late, plan.objectives, t),
            "actions": _done_late(plan.actions_done, plan.actions_late, plan.actions, t),
            "reviews_on_time": _share(plan.reviews_on_time),
            "conflicts": Cell(t("kpi.conflicts", caught=plan.conflicts_caught, dismissed=plan.conflicts_dismissed)),
            "conflict_days": DASH
            if plan.conflict_days_open_median is None
            else Cell(f"{plan.conflict_days_open_median:.0f}", plan.conflict_days_open_median),
        }
    else:
        cells |= dict.fromkeys(("objectives", "actions", "reviews_on_time", "conflicts", "conflict_days"), DASH)
    if results is not None:
        cells |= {
            "year": Cell(str(results.year), results.year),
            "revenue": _money(results.revenue),
            "margin": _share(results.margin),
            "potential": _money(results.potential),
            "potential_exploited": _share(results.potential_exploited),
            "share_of_wallet": _share(results.share_of_wallet),
            "revenue_target": _money(results.revenue_target),
        }
    else:
        keys = ("year", "revenue", "margin", "potential", "potential_exploited", "share_of_wallet", "revenue_target")
        cells |= dict.fromkeys(keys, DASH)
    return cells


def portfolio_cells(row: PortfolioRow, t: Texts) -> dict[str, Cell]:
    cells = account_cells(row.kpis, t)
    return cells | {
        "account": Cell(row.account.name),
        "tier": Cell(t(f"tier.{row.account.tier.value}")),
        "managers": Cell(", ".join(row.managers) or "—"),
        "plan_saved": Cell(row.plan_saved_on.isoformat()) if row.plan_saved_on else Cell(t("kpi.no_plan")),
        "attractiveness": DASH if row.attractiveness is None else Cell(f"{row.attractiveness:.1f}", row.attractiveness),
        "health": health_cell(row.health),
    }


def health_cell(health: Health | None) -> Cell:
    return DASH if health is None or health.score is None else Cell(str(health.score), health.score)


def health_chart(days: Sequence[tuple[dt.date, int]], t: Texts) -> Markup:
    """The stored daily scores as a line on a 0-100 scale, and day by day in its description."""
    described = ", ".join(f"{day.isoformat()}: {score}" for day, score in days) or t("health.trend.empty")
    return sparkline([score for _, score in days], t("health.trend"), described, top=100)


def trend_chart(points: Sequence[MonthPoint], t: Texts, account: str) -> Markup:
    """Contacts and decisions logged per month: the line, and its figures month by month in its description."""
    totals = [p.contacts + p.decisions for p in points]
    described = ", ".join(f"{p.month}: {p.contacts + p.decisions}" for p in points) or t("kpi.trend.empty")
    return sparkline(totals, t("kpi.trend.title", account=account), described)


def ack_chart(points: Sequence[MonthPoint], t: Texts, account: str) -> Markup:
    values = [p.acknowledged_within_24h for p in points]
    described = ", ".join(
        f"{p.month}: {'—' if p.acknowledged_within_24h is None else f'{p.acknowledged_within_24h:.0%}'}" for p in points
    )
    return sparkline(values, t("kpi.trend.ack_title", account=account), described or t("kpi.trend.empty"))


def matrix_chart(rows: Sequence[PortfolioRow], t: Texts) -> tuple[Markup, list[MatrixPoint]]:
    """The portfolio matrix of the accounts that have both an attractiveness score and a position."""
    points = [
        MatrixPoint(r.account.name, min(r.attractiveness / SCORE_TOP, 1.0), r.position)
        for r in rows
        if r.attractiveness is not None and r.position is not None
    ]
    chart = portfolio_matrix(points, t("portfolio.matrix.title"), t("portfolio.matrix.x"), t("portfolio.matrix.y"))
    return chart, points


def dependency_lines(risk: DependencyRisk, thresholds: Mapping[str, float], t: Texts) -> list[dict[str, Any]]:
    """The dependency risk figures, each with its threshold and whether it is crossed."""
    over = set(crossed(risk, thresholds))
    figures = {
        "top1_share": risk.top1_share,
        "top5_share": risk.top5_share,
        "top10_share": risk.top10_share,
        "herfindahl": risk.herfindahl,
        "key_account_share": risk.key_account_share,
    }
    lines = []
    for name, value in figures.items():
        limit_key = "key_account_share_min" if name == "key_account_share" else name
        limit = thresholds.get(limit_key)
        shown = "—" if value is None else (f"{value:.3f}" if name == "herfindahl" else f"{value:.0%}")
        limit_text = "" if limit is None else (f"{limit:.3f}" if name == "herfindahl" else f"{limit:.0%}")
        lines.append(
            {
                "label": t(f"portfolio.risk.{name}"),
                "value": shown,
                "limit": limit_text,
                "minimum": limit_key.endswith("_min"),
                "crossed": name in over or limit_key in over,
            }
        )
    return lines


@dataclass(frozen=True)
class ResultsEntry:
    year: int
    revenue: float | None
    margin: float | None
    potential: float | None
    share_of_wallet: float | None


def _figure(
    raw: object, name: str, problems: list[str], t: Texts, *, share: bool = False, signed: bool = False
) -> float | None:
    """A figure from the form: blank is none; a share is entered in per cent; `signed`: may be below 0 (a margin
    of a year at a loss, down to -100 %)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = float(str(raw).strip().replace("\u202f", "").replace(" ", "").replace(",", "."))
    except ValueError:
        value = math.nan
    lowest = -100 if signed else 0
    if not math.isfinite(value) or value < lowest or value > (100 if share else MAX_FIGURE):
        problems.append(t("kpi.results.bad_share" if share else "kpi.results.bad_figure", field=t(f"kpi.{name}")))
        return None
    return value / 100 if share else value


def parse_results_entry(raw: object, today: dt.date, t: Texts) -> tuple[ResultsEntry | None, list[str]]:
    """The Plan tab's results form, checked on the server: a year near this one, figures not negative, shares
    0 to 100 %, and at least one figure."""
    if not isinstance(raw, dict):
        return None, [t("kpi.results.bad_year", first=today.year - YEARS_BACK, last=today.year + YEARS_AHEAD)]
    problems: list[str] = []
    year_raw = str(raw.get("year", "")).strip()
    year = int(year_raw) if year_raw.isascii() and year_raw.isdigit() and len(year_raw) == 4 else None
    if year is None or not today.year - YEARS_BACK <= year <= today.year + YEARS_AHEAD:
        problems.append(t("kpi.results.bad_year", first=today.year - YEARS_BACK, last=today.year + YEARS_AHEAD))
    revenue = _figure(raw.get("revenue"), "revenue", problems, t)
    margin = _figure(raw.get("margin"), "margin", problems, t, share=True, signed=True)
    potential = _figure(raw.get("potential"), "potential", problems, t)
    share = _figure(raw.get("share_of_wallet"), "share_of_wallet", problems, t, share=True)
    if not problems and all(v is None for v in (revenue, margin, potential, share)):
        problems.append(t("kpi.results.empty"))
    if problems or year is None:
        return None, problems
    return ResultsEntry(year, revenue, margin, potential, share), []
