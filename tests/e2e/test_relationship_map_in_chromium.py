"""The relationship map in the Stakeholders tab, in headless Chromium: Contoso's org chart (tests/support/org_chart.py)
in Teams' three themes at desktop and phone width. A box for every customer person in its support level's colour,
influence dashed, gap flags where the gaps are, the same map as a table on the page; text at 4.5:1, the map's
lines and boxes at 3:1; nothing wider than a phone's screen, and the map at full size scrolls in its own frame.
Screenshots go to test-artifacts/tabs/."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext, Page

from bot.tabs.relationship_map import support_class
from kam.models import Stakeholder
from tests.support.chromium import contrast_failures, overflow, unnamed_controls
from tests.support.harness import RunningBot
from tests.support.org_chart import CONTOSO, MARKUP_NAME, seed_org_chart
from tests.support.tab_pages import SHOTS, THEMES, WIDTHS, dev_token, page_context, tab_bot

pytestmark = pytest.mark.asyncio(loop_scope="module")

GRAPHICS_CONTRAST = 3.0  # WCAG 2.2 AA for the parts of a graphic one needs to understand it (1.4.11)


@dataclass
class Site:
    bot: RunningBot
    context: BrowserContext
    people: dict[str, Stakeholder]

    def url(self, user: str = "adele") -> str:
        return f"{self.bot.url}/tabs/stakeholders?account={CONTOSO}#token={dev_token(self.bot.settings, user)}"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    async with tab_bot(tmp_path_factory.mktemp("map")) as bot:
        async with bot.db.transaction() as session:
            people = await seed_org_chart(session, dt.date.today())
        async with page_context() as context:
            yield Site(bot, context, people)


async def open_map(site: Site, width: int) -> Page:
    page = await site.context.new_page()
    await page.set_viewport_size({"width": width, "height": 900})
    await page.goto(site.url())
    await page.wait_for_selector("#content h2", timeout=15000)
    await page.wait_for_function("() => !!customElements.get('fluent-button')")
    return page


# Each box's border against its own fill, the gap sign and the influence lines against the card.
_GRAPHICS = """(minimum) => {
  const rgb = (value) => (/rgba?\\(([^)]+)\\)/.exec(value) || [0, "0,0,0"])[1].split(/[\\s,]+/).slice(0, 3).map(Number);
  const luminance = (c) => {
    const [r, g, b] = c.map((v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [x, y] = [luminance(rgb(a)), luminance(rgb(b))].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const card = getComputedStyle(document.querySelector(".map-card")).backgroundColor;
  const failures = [];
  const judge = (what, colour, against) => {
    const value = ratio(colour, against);
    if (value < minimum) failures.push(`${what}: ${colour} on ${against} = ${value.toFixed(2)}`);
  };
  for (const box of document.querySelectorAll("svg.map g.person rect.box")) {
    const style = getComputedStyle(box);
    judge(box.parentElement.getAttribute("class"), style.stroke, style.fill);
  }
  for (const sign of document.querySelectorAll("svg.map .gap-flag .sign")) {
    judge("gap sign", getComputedStyle(sign).fill, card);
  }
  for (const line of document.querySelectorAll("svg.map path.influence, svg.map path.reports")) {
    judge(line.getAttribute("class"), getComputedStyle(line).stroke, card);
  }
  return failures;
}"""


async def graphics_failures(page: Page) -> list[str]:
    return list(await page.evaluate(_GRAPHICS, GRAPHICS_CONTRAST))


async def test_the_map_is_readable_in_every_theme_at_desktop_and_phone_width(site: Site) -> None:
    for size, width in WIDTHS.items():
        page = await open_map(site, width)
        assert await unnamed_controls(page) == []
        page_width, cut = await overflow(page, width)
        assert page_width <= width and not cut, f"the map at {width} px: {cut}"
        for theme in THEMES:
            await page.evaluate("(theme) => window.kambot.setTheme(theme)", theme)
            await page.evaluate("() => Promise.all(document.getAnimations().map((a) => a.finished))")
            assert await contrast_failures(page) == [], f"{theme}, {size}"
            assert await graphics_failures(page) == [], f"{theme}, {size}"
            await page.screenshot(path=str(SHOTS / f"stakeholders-map-{theme}-{size}.png"), full_page=True)
        await page.close()


async def test_a_box_for_every_customer_person_in_the_colour_of_their_support_and_influence_dashed(site: Site) -> None:
    page = await open_map(site, WIDTHS["desktop"])
    boxes = await page.eval_on_selector_all(
        "svg.map g.person", "gs => gs.map(g => [Number(g.dataset.stakeholder), g.getAttribute('class')])"
    )
    expected = {s.id: support_class(s.attitude) for s in site.people.values()}
    assert {id: next(c for c in css.split() if c.startswith("support-")) for id, css in boxes} == expected
    colours = await page.eval_on_selector_all(
        "svg.map g.person rect.box",
        "rs => rs.map(r => [r.parentElement.dataset.stakeholder, getComputedStyle(r).stroke])",
    )
    by_level: dict[str, set[str]] = {}
    for id, colour in colours:
        by_level.setdefault(expected[int(id)], set()).add(colour)
    assert all(len(found) == 1 for found in by_level.values()), "one colour per support level"
    assert len({next(iter(found)) for level, found in by_level.items() if level != "support-unknown"}) == 4
    dashes = await page.eval_on_selector_all(
        "svg.map path.influence", "ps => ps.map(p => getComputedStyle(p).strokeDasharray)"
    )
    assert len(dashes) == 2 and all(d not in ("none", "") for d in dashes), "influence lines are dashed"
    solid = await page.eval_on_selector_all(
        "svg.map path.reports", "ps => ps.map(p => getComputedStyle(p).strokeDasharray)"
    )
    assert len(solid) == 5 and set(solid) == {"none"}, "five people report to Klaus or Tom: solid lines"
    assert MARKUP_NAME in await page.inner_text("#map-table"), "the markup in a name shows as text"
    await page.close()


async def test_the_table_is_the_same_map_in_words_and_the_gaps_are_flagged_on_it(site: Site) -> None:
    page = await open_map(site, WIDTHS["desktop"])
    svg = page.locator("svg.map")
    assert await svg.get_attribute("role") == "img" and "map-table" in (
        await svg.get_attribute("aria-describedby") or ""
    )
    rows = await page.eval_on_selector_all(
        "#map-table tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.innerText.trim()))"
    )
    assert len(rows) == len(site.people) == await page.locator("svg.map g.person").count()
    by_name = {row[0].split(",")[0]: row for row in rows}
    klaus, jana, lukas, tom = (
        by_name["Klaus Meier"],
        by_name["Jana Vogel"],
        by_name["Lukas Braun"],
        by_name["Tom Richter"],
    )
    assert klaus[1:6] == ["—", "Decision maker", "= Neutral", "High", "Yes"]
    assert klaus[6].startswith("Megan Bowen: strength") and klaus[7] == "Influenced by Jana Vogel"
    assert jana[1] == "Klaus Meier" and jana[7] == f"Influences Klaus Meier\nInfluenced by {MARKUP_NAME}"
    assert lukas[1] == "Tom Richter" and lukas[3] == "? Support not known"
    assert lukas[6] == "Patti Fernandez: strength 70, last contact none logged (set by hand)"
    assert tom[6].startswith("Alex Wilber: strength") and "last contact " in tom[6]
    assert klaus[8] == "⚠ Decision maker known by only one of us"
    assert jana[8] == "⚠ Decision maker known by only one of us; Non-supporter with more influence than our supporters"
    flagged = await page.eval_on_selector_all(
        "svg.map g.person.flagged", "gs => gs.map(g => Number(g.dataset.stakeholder))"
    )
    assert site.people["Klaus Meier"].id in flagged
    assert await page.locator("svg.map .gap-flag").first.is_visible()
    assert await page.locator(".gaps li").count() >= 1 and await page.locator(".gaps").is_visible()
    await page.close()


async def test_at_phone_width_the_map_fits_and_at_full_size_scrolls_in_its_frame(site: Site) -> None:
    page = await open_map(site, WIDTHS["phone"])
    frame = page.locator("#map-frame")
    fitted = await frame.evaluate("f => [f.scrollWidth, f.clientWidth]")
    assert fitted[0] <= fitted[1] + 1, "fitted to the screen"
    await page.click("#map-zoom")
    assert await page.get_attribute("#map-zoom", "aria-pressed") == "true"
    full = await frame.evaluate(
        "f => [f.scrollWidth, f.clientWidth, f.querySelector('svg').getBoundingClientRect().width]"
    )
    assert full[0] > full[1] and full[2] == float(await page.get_attribute("svg.map", "width") or 0), (
        "100 %: it scrolls"
    )
    assert await page.evaluate("document.documentElement.scrollWidth") <= WIDTHS["phone"], "the page itself does not"
    await page.screenshot(path=str(SHOTS / "stakeholders-map-full-size-phone.png"), full_page=True)
    await page.click("#map-zoom")
    assert await page.get_attribute("#map-zoom", "aria-pressed") == "false"
    await page.close()
