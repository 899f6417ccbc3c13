"""The server's SVG charts: what they draw from the figures, and their text alternative."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from bot.tabs.charts import MatrixPoint, portfolio_matrix, sparkline

SVG = "{http://www.w3.org/2000/svg}"


def test_a_sparkline_breaks_where_a_month_has_no_figure_and_describes_every_month() -> None:
    chart = sparkline([1.0, 2.0, None, 4.0, 3.0, None, 5.0], "Trend: Contoso", "2026-01: 1, 2026-02: 2")
    svg = ET.fromstring(str(chart))
    assert svg.get("role") == "img" and svg.get("aria-label") == "Trend: Contoso"
    assert svg.findtext(f"{SVG}title") == "Trend: Contoso" and svg.findtext(f"{SVG}desc") == "2026-01: 1, 2026-02: 2"
    lines = [line.get("points", "").split() for line in svg.iter(f"{SVG}polyline")]
    assert [len(points) for points in lines] == [2, 2]  # Jan-Feb, Apr-May; July alone is a dot
    assert len(list(svg.iter(f"{SVG}circle"))) == 1
    highest = min(float(p.split(",")[1]) for points in lines for p in points)
    assert highest > 3.0, "5 is the top: 4 is drawn below it"


def test_a_sparkline_of_nothing_is_an_empty_axis() -> None:
    svg = ET.fromstring(str(sparkline([None, None], "Nothing", "no months yet")))
    assert not list(svg.iter(f"{SVG}polyline")) and not list(svg.iter(f"{SVG}circle"))


def test_the_matrix_places_each_account_by_position_and_attractiveness_and_names_it() -> None:
    points = [MatrixPoint("Strong & <attractive>", 1.0, 1.0), MatrixPoint("Weak", 0.0, 0.0), MatrixPoint("Odd", 2, -1)]
    chart = str(portfolio_matrix(points, "Matrix", "Our position", "Attractiveness"))
    svg = ET.fromstring(chart)  # names are escaped: it still parses
    dots = [(float(c.get("cx", 0)), float(c.get("cy", 0))) for c in svg.iter(f"{SVG}circle")]
    assert dots[0] == (284.0, 36.0) and dots[1] == (36.0, 284.0), "top right, bottom left"
    assert dots[2] == (36.0, 36.0), "figures out of range are kept on the chart's edge"
    described = svg.findtext(f"{SVG}desc") or ""
    assert "Strong & <attractive>: Our position 100%, Attractiveness 100%" in described
    assert re.search(r"Weak: Our position 0%, Attractiveness 0%", described)
