"""Debian's headless Chromium through Playwright, and what a person checks on a page in it.

Readable text (contrast from the computed colours of the page, WCAG's formula), every control named for
assistive technology (Chromium's own accessibility tree), everything reachable with the Tab key and
visibly focused there, and nothing cut off or wider than the screen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MINIMUM_CONTRAST = 4.5  # WCAG 2.2 AA for text (1.4.3); held for all text here, large or not


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed; `make test` installs it with apt-get.")
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


# Walks the composed tree (open shadow roots included). The colour of a text is its holder's (a slotted text
# inherits from its slot); its background is every background behind it, composited up the flat tree.
_CONTRAST = """(minimum) => {
  const parse = (value) => {
    const m = /^rgba?\\(([^)]+)\\)$/.exec(value);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
  const luminance = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => { const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const up = (node) => node.assignedSlot || node.parentElement || (node.parentNode instanceof ShadowRoot ? node.parentNode.host : null);
  const behind = (element) => {
    const layers = [];
    for (let e = element; e; e = up(e)) {
      const bg = parse(getComputedStyle(e).backgroundColor);
      if (bg && bg[3] > 0) { layers.push(bg); if (bg[3] >= 1) break; }
    }
    return layers.reverse().reduce((below, layer) => over(layer, below), [255, 255, 255, 1]);
  };
  // Rendered for a person: not in a folded <details>, not display:none, not visibility:hidden.
  const shown = (e) => e.checkVisibility({ visibilityProperty: true });
  const failures = [];
  let checked = 0;
  const judge = (text, holder) => {
    const fg = parse(getComputedStyle(holder).color);
    const bg = behind(holder);
    const value = ratio(over(fg, bg), bg);
    checked += 1;
    if (value < minimum) failures.push({ text: text.trim().slice(0, 60), ratio: Math.round(value * 100) / 100,
                                         color: getComputedStyle(holder).color, background: `rgb(${bg.slice(0, 3).map(Math.round)})` });
  };
  const visit = (root) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.nodeType === Node.ELEMENT_NODE) {
        if (node.shadowRoot) visit(node.shadowRoot);
        const control = node.matches("input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea");
        if (control && shown(node)) {
          const value = node.tagName === "SELECT" ? (node.selectedOptions[0] || {}).text || "" : node.value || node.placeholder;
          if (value.trim()) judge(value, node);
        }
        continue;
      }
      if (!node.data.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      if (!range.getClientRects().length) continue;
      const holder = node.assignedSlot || node.parentElement;
      if (!holder || !shown(node.parentElement)) continue;
      judge(node.data, holder);
    }
  };
  visit(document.body);
  return { checked, failures };
}"""


async def contrast_failures(page: Page) -> list[dict[str, Any]]:
    """Every visible text (and every control's value) below 4.5:1 against what is behind it."""
    result = await page.evaluate(_CONTRAST, MINIMUM_CONTRAST)
    assert result["checked"] > 0, "no text was found to check"
    return list(result["failures"])


# Roles whose nodes a person operates: each needs a name that assistive technology reads out.
CONTROL_ROLES = {
    "button",
    "checkbox",
    "combobox",
    "date",
    "DisclosureTriangle",
    "InputTime",
    "link",
    "listbox",
    "radio",
    "searchbox",
    "slider",
    "spinbutton",
    "switch",
    "textbox",
}


async def controls(page: Page) -> list[tuple[str, str]]:
    """Role and accessible name of every control in Chromium's accessibility tree (shadow trees included)."""
    cdp = await page.context.new_cdp_session(page)
    try:
        tree = await cdp.send("Accessibility.getFullAXTree")
    finally:
        await cdp.detach()
    return [
        (node["role"]["value"], str(node.get("name", {}).get("value", "")).strip())
        for node in tree["nodes"]
        if not node.get("ignored") and node.get("role", {}).get("value") in CONTROL_ROLES
    ]


async def unnamed_controls(page: Page) -> list[str]:
    """The controls without an accessible name (for an input: without a label)."""
    return [role for role, name in await controls(page) if not name]


_MARK_FOCUSABLE = """() => {
  const wanted = "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), "
    + "textarea:not([disabled]), summary, fluent-button:not([disabled]), [tabindex]:not([tabindex='-1'])";
  const shown = [...document.querySelectorAll(wanted)].filter((e) => e.checkVisibility({ visibilityProperty: true }));
  shown.forEach((e, i) => { e.dataset.keyboardCheck = String(i); });
  return shown.map((e) => `${e.tagName.toLowerCase()} ${(e.getAttribute("name") || e.id || e.textContent).trim().slice(0, 40)}`);
}"""

# The element that has the focus, seen through shadow roots to the page's own element that holds it; and
# whether a person sees where the focus is (an outline, or a ring drawn as a box shadow).
_FOCUSED = """() => {
  let e = document.activeElement;
  while (e && e.shadowRoot && e.shadowRoot.activeElement && !e.dataset.keyboardCheck) e = e.shadowRoot.activeElement;
  if (!e || e === document.body) return null;
  const holder = e.closest("[data-keyboard-check]") || e;
  const style = getComputedStyle(holder);
  // (focus:within: a date field's calendar button, in the field's own shadow tree, holds the focus.)
  const outlined = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return { mark: holder.dataset.keyboardCheck ?? null, visible: outlined || style.boxShadow !== "none",
           what: holder.tagName.toLowerCase() + " " + (holder.getAttribute("name") || holder.id || "").slice(0, 40) };
}"""


async def tab_through(page: Page, limit: int = 300) -> tuple[list[str], list[str]]:
    """Presses Tab from the top of the page until the focus comes round again.

    Returns what a person can operate that the Tab key did not reach, and what it reached without a visible
    focus indicator.
    """
    expected = await page.evaluate(_MARK_FOCUSABLE)
    if not expected:
        return [], []
    await page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    reached: set[str] = set()
    unseen: list[str] = []
    first = None
    for _ in range(limit):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(_FOCUSED)
        if focused is None:
            continue
        mark = focused["mark"] or focused["what"]
        if mark == first:
            break
        first = first or mark
        reached.add(mark)
        if not focused["visible"]:
            unseen.append(focused["what"])
    missed = [what for mark, what in enumerate(expected) if str(mark) not in reached]
    return missed, unseen


async def tab_to(page: Page, selector: str, limit: int = 200) -> None:
    """Moves the focus with the Tab key alone until the element matching `selector` holds it."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"the Tab key never reached {selector}")


_OVERFLOW = """(width) => {
  // Visually hidden (a 1 px box that clips its content): there for screen readers only.
  const forReadersOnly = (e) => {
    for (let a = e; a; a = a.parentElement) {
      const box = a.getBoundingClientRect();
      if ((box.width <= 1 || box.height <= 1) && getComputedStyle(a).overflow !== "visible") return true;
    }
    return false;
  };
  const cut = [];
  for (const e of document.body.querySelectorAll("*")) {
    if (!e.checkVisibility({ visibilityProperty: true }) || forReadersOnly(e)) continue;
    const box = e.getBoundingClientRect();
    const what = e.tagName.toLowerCase() + (e.className && typeof e.className === "string" ? "." + e.className.split(" ")[0] : "");
    if (box.left < -0.5 || box.right > width + 0.5) cut.push(`${what} spans ${Math.round(box.left)}..${Math.round(box.right)}`);
    const clips = /hidden|clip|auto|scroll/.test(getComputedStyle(e).overflowX);
    if (clips && !e.matches("input, select, textarea") && e.scrollWidth > e.clientWidth + 1)
      cut.push(`${what} hides ${e.scrollWidth - e.clientWidth}px of its content`);
  }
  return { page: document.documentElement.scrollWidth, cut };
}"""


async def overflow(page: Page, width: int) -> tuple[int, list[str]]:
    """How wide the page is, and every element that sticks out of the screen or hides part of its content."""
    result = await page.evaluate(_OVERFLOW, width)
    return int(result["page"]), list(result["cut"])
