"""The contact form card as a person sees it in a Teams chat: Microsoft's `adaptivecards` renderer in Chromium.

Teams sizes a card itself (it is "managed by the Microsoft Teams channel", Microsoft answered when asked for a
wider one); in a 1:1 chat on the desktop a card is about 450 to 500 px wide, so it is rendered here 480 px wide
with a host config in Teams' colours, fonts and spacing (tests/support/judges/). The card is whatever
`contact_form_card` builds today for Contoso Pharma as the demo database holds it: the test asks only that it
fits that width and that every input shows its label. Screenshots: test-artifacts/cards/.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from bot.handlers.resolve import form_context
from cards.contact import contact_form_card
from cards.i18n import Texts
from kam.accounts import get_account
from kam.storage import Database
from tests.support.chromium import ARTIFACTS, chromium, overflow, unnamed_controls
from tests.support.harness import migrate_and_seed

ROOT = Path(__file__).resolve().parents[2]
JUDGES = ROOT / "tests" / "support" / "judges"
RENDERER = ROOT / "node_modules" / "adaptivecards" / "dist" / "adaptivecards.min.js"
CARD_WIDTH = 480  # a card in a 1:1 chat on Teams' desktop client: about 450 to 500 px
SHOTS = ARTIFACTS / "cards"
CONTOSO = 1
# What the form shows before "More details": who at the customer, type, date, what happened.
ESSENTIALS = ("stakeholders", "customer_people", "kind", "met_on", "summary")
# Teams' dark theme (Fluent's Teams dark tokens): the card's background and its text colours.
DARK = {
    "default": {"default": "#FFFFFF", "subtle": "#D6D6D6"},
    "accent": {"default": "#7F85F5", "subtle": "#AAB1FA"},
    "good": {"default": "#54B054", "subtle": "#54B054"},
    "warning": {"default": "#FAA06B", "subtle": "#F98845"},
    "attention": {"default": "#DC626D", "subtle": "#EEACB2"},
}

# Renders the card into the message frame and reports, per input, its label and the text of what labels it.
RENDER = """([card, hostConfig]) => {
  const adaptive = new AdaptiveCards.AdaptiveCard();
  adaptive.hostConfig = new AdaptiveCards.HostConfig(hostConfig);
  adaptive.parse(card, new AdaptiveCards.SerializationContext(AdaptiveCards.Versions.v1_5));
  const rendered = adaptive.render();
  if (!rendered) return null;
  document.getElementById("message").appendChild(rendered);
  window.renderedCard = adaptive;
}"""

# Per input of the card drawn: its label, the text of what labels it, and whether that shows now.
INPUTS = """() => {
  return window.renderedCard.getAllInputs().map((input) => {
    // A compact input labels itself; an expanded choice set labels each of its boxes with the set's label.
    const control = input.renderedInputControlElement;
    const labelled = control && (control.matches("[aria-labelledby]") ? control : control.querySelector("[aria-labelledby]"));
    const ids = (labelled ? labelled.getAttribute("aria-labelledby") : "").split(" ").filter(Boolean);
    const labels = ids.map((id) => document.getElementById(id)).filter(Boolean);
    return {
      id: input.id,
      label: input.label || input.title || "",  // a toggle's title is the label beside its box
      readOut: labels.map((l) => l.textContent).join(" "),
      shown: labels.some((l) => l.checkVisibility() && l.getBoundingClientRect().width > 0),
    };
  });
}"""


def dark(config: dict[str, Any]) -> dict[str, Any]:
    """The same host config in Teams' dark theme colours, for the second screenshot."""
    themed = json.loads(json.dumps(config))
    for name, style in themed["containerStyles"].items():
        style["backgroundColor"] = "#292929" if name == "default" else "#1F1F1F"
        style["foregroundColors"].update(json.loads(json.dumps(DARK)))
    return themed


async def contoso_form(sqlite_url: str) -> dict[str, Any]:
    await migrate_and_seed(sqlite_url)
    database = Database(sqlite_url)
    try:
        async with database.transaction() as session:
            context = await form_context(session, await get_account(session, CONTOSO))
    finally:
        await database.close()
    assert [option.label for option in context.stakeholders] == [
        "Dr. Hanna Berger (Head of Procurement)",
        "Tom Richter (Plant Manager Leipzig)",
    ]
    return contact_form_card(Texts("en"), context, dt.date.today())


async def test_the_contact_form_fits_a_teams_chat_and_every_input_shows_its_label(sqlite_url: str) -> None:
    card = await contoso_form(sqlite_url)
    host_config = json.loads((JUDGES / "teams_host_config.json").read_text())
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with chromium() as browser:
        for theme, config in (("default", host_config), ("dark", dark(host_config))):
            page = await browser.new_page(viewport={"width": CARD_WIDTH + 48, "height": 900})
            await page.set_content(
                f'<body class="{theme}"><div class="teams-message" id="message" style="width: {CARD_WIDTH}px"></div></body>'
            )
            await page.add_style_tag(path=str(JUDGES / "teams_card.css"))
            await page.add_script_tag(path=str(RENDERER))
            await page.evaluate(RENDER, [card, config])
            first = {field["id"]: field["shown"] for field in await page.evaluate(INPUTS)}
            await page.locator("#message").screenshot(path=str(SHOTS / f"contact-form-{theme}.png"))
            assert sorted(name for name, shown in first.items() if shown) == sorted(ESSENTIALS), first
            await page.get_by_role("button", name="More details").click()
            inputs = await page.evaluate(INPUTS)
            await page.locator("#message").screenshot(path=str(SHOTS / f"contact-form-{theme}-more-details.png"))
            assert inputs, "the renderer drew the card, with inputs"
            for field in inputs:
                assert field["label"].strip(), f"input {field['id']} has a label"
                assert field["label"] in field["readOut"] and field["shown"], f"{field['id']}: {field}"
            assert await unnamed_controls(page) == [], "every control is named for assistive technology"
            page_width, cut = await overflow(page, CARD_WIDTH + 48)
            message = await page.eval_on_selector("#message", "m => [m.scrollWidth, m.clientWidth]")
            assert message[0] <= message[1] and page_width <= CARD_WIDTH + 48 and not cut, (message, cut)
            await page.close()
