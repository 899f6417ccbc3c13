"""The channel tabs over real HTTP: single sign-on on the server, the plan's versions and conflicts, log, map."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import openpyxl
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import delete, func, select

from bot.settings import Settings
from bot.tabs.signin import TabTokens
from kam.accounts import get_account
from kam.acknowledgements import acknowledge
from kam.contacts import LogContact, log_contact
from kam.decisions import LogDecision, log_decision
from kam.demo import PEOPLE, TENANT_ID
from kam.models import ContactKind, DecisionCategory, ItemKind, Person, PlanVersion, Stakeholder
from kam.people import Caller, find_person
from tests.support.fakes.connector import ConnectorFake
from tests.support.fakes.entra import EntraFake
from tests.support.flows import tab_settings
from tests.support.harness import RunningBot, migrate_and_seed
from tests.support.org_chart import MARKUP_NAME, seed_org_chart
from tests.support.teams import CONTOSO_CHANNEL

AAD = {p.name.split()[0].lower(): p.aad_object_id for p in PEOPLE}
CONTOSO, FABRIKAM = 1, 2


async def person(session: Any, user: str) -> Person:
    found = await find_person(session, Caller(AAD[user], None, ""))
    assert found is not None
    return found


class Tabs:
    def __init__(self, bot: RunningBot, entra: EntraFake, http: aiohttp.ClientSession) -> None:
        self.bot, self.entra, self.http = bot, entra, http

    def token(self, user: str, **overrides: Any) -> str:
        return self.entra.token(AAD[user], TENANT_ID, **overrides)

    async def get(self, path: str, token: str | None = None) -> tuple[int, str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.get(f"{self.bot.url}{path}", headers=headers) as r:
            return r.status, await r.text(), r.headers

    async def save(self, user: str, base: int, plan: dict[str, Any], account: int = CONTOSO) -> tuple[int, str]:
        headers = {"Authorization": f"Bearer {self.token(user)}"}
        body = {"base_version": base, **plan}
        async with self.http.post(f"{self.bot.url}/tabs/plan/save?account={account}", json=body, headers=headers) as r:
            return r.status, await r.text()

    async def versions(self) -> int:
        async with self.bot.db.transaction() as session:
            return int(await session.scalar(select(func.count()).select_from(PlanVersion)) or 0)


@asynccontextmanager
async def tabs_on(database_url: str, connector: ConnectorFake) -> AsyncIterator[Tabs]:
    entra = await EntraFake().start()
    await migrate_and_seed(database_url)
    bot = await RunningBot(tab_settings(database_url, entra), connector).start()
    async with aiohttp.ClientSession() as http:
        yield Tabs(bot, entra, http)
    await bot.stop()
    await entra.stop()


@pytest.fixture
async def tabs(sqlite_url: str, connector: ConnectorFake) -> AsyncIterator[Tabs]:
    async with tabs_on(sqlite_url, connector) as running:
        yield running


@pytest.fixture
async def tabs_on_both(database_url: str, connector: ConnectorFake) -> AsyncIterator[Tabs]:
    async with tabs_on(database_url, connector) as running:
        yield running


async def test_the_page_itself_holds_no_account_data_and_loads_teams_js_from_our_origin(tabs: Tabs) -> None:
    status, page, headers = await tabs.get(f"/tabs/plan?account={CONTOSO}")
    assert status == 200 and "Contoso" not in page
    assert '<script src="/tabs/static/teams.js"' in page and 'lang="en"' in page
    assert (
        "frame-ancestors" in headers["Content-Security-Policy"]
        and "script-src 'self'" in headers["Content-Security-Policy"]
    )
    status, script, _ = await tabs.get("/tabs/static/teams.js")
    assert status == 200 and "microsoftTeams" in script
    assert (await tabs.get("/tabs/static/../../bot/settings.py"))[0] == 404


async def test_fluents_components_and_the_teams_themes_come_from_our_origin_and_nothing_else_does(tabs: Tabs) -> None:
    status, page, headers = await tabs.get(f"/tabs/log?account={CONTOSO}")
    assert '<script type="module" src="/tabs/static/theme.js">' in page
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy and "style-src 'self';" in policy
    assert "http" not in policy.split("frame-ancestors")[0], "scripts, styles and fetches: our origin only"
    status, components, headers = await tabs.get("/tabs/static/fluent.js")
    assert status == 200 and "globalThis.Fluent" in components and headers["Content-Type"] == "application/javascript"
    status, tokens, headers = await tabs.get("/tabs/static/fluent-tokens/index.js")
    assert status == 200 and "teamsHighContrastTheme" in tokens and headers["Content-Type"] == "application/javascript"
    status, dark, _ = await tabs.get("/tabs/static/fluent-tokens/themes/teams/darkTheme.js")
    assert status == 200 and "export" in dark
    for outside in (
        "/tabs/static/fluent-tokens/index.js.map",
        "/tabs/static/fluent-tokens/%2e%2e/package.json",
        "/tabs/static/fluent-tokens/..%2f..%2f..%2f..%2f..%2fbot/settings.py",
        "/tabs/static/fluent-tokens/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/package-lock.js",
        "/tabs/static/fluent-tokens/nothing.js",
        "/tabs/static/fluent-tokens/index%00.js",
        "/tabs/static/fluent-tokens/" + "x" * 5000 + ".js",
    ):
        assert (await tabs.get(outside))[0] == 404, outside
    status, german, _ = await tabs.get(f"/tabs/log?account={CONTOSO}&locale=de-DE")
    assert 'lang="de"' in german and "Protokoll" in german
    for path in ("/tabs/plan?account=<script>", "/tabs/secrets?account=1"):
        assert (await tabs.get(path))[0] == 404


async def test_content_needs_a_valid_sso_token_of_someone_on_the_account_team(tabs: Tabs) -> None:
    path = f"/tabs/plan/content?account={CONTOSO}"
    status, body, _ = await tabs.get(path, tabs.token("megan"))
    assert status == 200 and "Account plan: Contoso Pharma" in body and "Full plan" in body

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused = {
        "no token": None,
        "garbage": "not-a-token",
        "forged": tabs.token("megan", key=other_key),
        "expired": tabs.token("megan", exp=int(time.time()) - 3600, iat=int(time.time()) - 7200),
        "wrong audience": tabs.token("megan", aud="api://elsewhere/other-app"),
        "wrong issuer": tabs.token("megan", iss="https://evil.example/v2.0"),
        "other tenant": tabs.entra.token(AAD["megan"], "99999999-0000-0000-0000-000000000000"),
        "dev token outside local mode": "eyJhbGciOiJIUzI1NiJ9.eyJvaWQiOiJ4In0.c2lnbmF0dXJl",
    }
    for why, token in refused.items():
        status, body, _ = await tabs.get(path, token)
        assert status == 401 and "Contoso" not in body, why
    for user, account in (("lynne", CONTOSO), ("isaiah", CONTOSO), ("megan", 999)):
        status, body, _ = await tabs.get(f"/tabs/plan/content?account={account}", tabs.token(user))
        assert status == 403 and "for the account team of this key account only" in body and "Contoso" not in body, user
    assert tabs.entra.fetches == 1, "Entra's keys are fetched once and kept"


ITEM = {"id": "a" * 32, "kind": "action", "title": "Second service visit offer", "status": "open", "progress": 0}


async def test_the_plan_is_versioned_and_a_concurrent_edit_never_overwrites_silently(tabs: Tabs) -> None:
    async with tabs.bot.db.transaction() as session:
        adele_id = (await person(session, "adele")).id
    first = {"sections": {"facts": "Three plants in Saxony."}, "items": [ITEM | {"owner_id": adele_id}]}
    status, body = await tabs.save("megan", 0, first)
    assert status == 200 and "Saved as version 1." in body

    # Adele owns the action: she may update its status, progress and comment, nothing else.
    hers = first | {"items": [first["items"][0] | {"status": "in_progress", "progress": 40, "comment": "Sent Tue"}]}
    status, body = await tabs.save("adele", 1, hers)
    assert status == 200 and "Saved as version 2." in body
    status, body = await tabs.save("adele", 2, hers | {"sections": {"facts": "Mine now"}})
    assert status == 403 and "only change the objectives and actions you own" in body

    # Alex loaded version 1 before Adele saved: his save is refused, with both versions shown.
    his = {"sections": {"facts": "Four plants, one in Poland."}, "items": first["items"]}
    status, body = await tabs.save("alex", 1, his)
    assert status == 409 and "Someone else changed this plan: Adele Vance saved version 2" in body
    assert "Four plants, one in Poland." in body and "Sent Tue" in body, "his text to copy, and theirs in the form"

    status, body = await tabs.save("megan", 2, {"sections": {}, "items": [ITEM | {"title": ""}]})
    assert status == 400 and "items.0.title" in body
    status, body = await tabs.save("megan", 2, {"sections": {"facts": "x", "astrology": "y"}, "items": []})
    assert status == 400 and "sections.astrology: not a section of this plan" in body
    status, body = await tabs.save("megan", 2, {"sections": {}, "items": [ITEM | {"owner_id": 999}]})
    assert status == 400 and "not on the account team" in body
    assert await tabs.versions() == 2

    status, body, _ = await tabs.get(f"/tabs/plan/content?account={CONTOSO}", tabs.token("alex"))
    assert "Version 2, saved by Adele Vance" in body and "Sent Tue" in body and "readonly" in body


def sections_shown(body: str) -> dict[str, bool]:
    """Each section of the plan as the server sends it: open (written) or folded (empty)."""
    return {
        name: bool(is_open)
        for name, is_open in re.findall(r'<details class="section card" id="part-(\w+)"( open)?>', body)
    }


async def test_the_full_plan_arrives_with_its_written_sections_open_and_its_empty_ones_folded(tabs: Tabs) -> None:
    """The page is complete as the server sends it: which section is open needs no script, and an objective's
    title is a text area that wraps, never an input that cuts it off."""
    long_title = "Win the framework agreement for sterile packaging at all three Saxon plants, " * 2
    plan = {"sections": {"facts": "Three plants.", "resources": "  "}, "items": [ITEM | {"title": long_title}]}
    assert (await tabs.save("megan", 0, plan))[0] == 200
    status, body, _ = await tabs.get(f"/tabs/plan/content?account={CONTOSO}", tabs.token("adele"))
    shown = sections_shown(body)
    assert len(shown) == 9 and shown.pop("facts") is True, "the strategic account's full plan; facts written"
    assert not any(shown.values()), f"blank and empty sections are folded: {shown}"
    assert body.count(">empty</fluent-badge>") == 8
    assert f'<textarea name="title" rows="1" maxlength="200" required readonly>{long_title.strip()}</textarea>' in body
    status, lean, _ = await tabs.get(f"/tabs/plan/content?account={FABRIKAM}", tabs.token("alex"))
    assert sections_shown(lean) == {"facts": False, "potential_targets": False, "key_stakeholders": False}


async def test_the_log_filters_and_exports_what_the_team_logged(tabs: Tabs) -> None:
    # This bot checks Bot Framework tokens; the items are logged through the domain services directly.
    async with tabs.bot.db.transaction() as session:
        alex, isaiah = await person(session, "alex"), await person(session, "isaiah")
        today = dt.date.today()
        visit = '=HYPERLINK("x") visit'
        await log_contact(session, LogContact(CONTOSO, alex, "1" * 32, today, ContactKind.VISIT, visit, "Hanna"))
        await log_decision(
            session,
            LogDecision(
                CONTOSO,
                alex,
                "2" * 32,
                "Second service visit is paid",
                DecisionCategory.PRICING,
                "Paid.",
                "Megan",
                today,
            ),
        )
        await log_contact(session, LogContact(FABRIKAM, isaiah, "3" * 32, today, ContactKind.CALL, "Call", "Maria"))
    token = tabs.token("megan")
    status, body, _ = await tabs.get(f"/tabs/log/content?account={CONTOSO}", token)
    assert status == 200 and "Second service visit is paid" in body and "HYPERLINK" in body
    assert "Fabrikam" not in body and "0 of 2" in body
    status, body, _ = await tabs.get(f"/tabs/log/content?account={CONTOSO}&type=decision", token)
    assert "Second service visit is paid" in body and "HYPERLINK" not in body
    status, body, _ = await tabs.get(f"/tabs/log/content?account={CONTOSO}&open=1&to=2000-01-01", token)
    assert "Nothing matches these filters." in body

    status, exported, headers = await tabs.get(f"/tabs/log/export.csv?account={CONTOSO}", token)
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    assert rows[0][0] == "Date" and len(rows) == 3
    assert any(cell.startswith("'=HYPERLINK") for row in rows for cell in row), "no formula runs in a spreadsheet"
    assert (await tabs.get(f"/tabs/log/export.csv?account={CONTOSO}", tabs.token("lynne")))[0] == 403


def marked(body: str) -> list[str]:
    """The Log rows marked as waiting for the viewer: the bold headline of each."""
    rows = body.split("<tr")[2:]  # after the header row
    return [re.findall(r"<strong>(.*?)</strong>", row)[0] for row in rows if row.startswith(' class="mine"')]


async def test_the_log_marks_for_each_person_only_what_waits_for_their_own_acknowledgement(tabs: Tabs) -> None:
    async with tabs.bot.db.transaction() as session:
        megan, alex = await person(session, "megan"), await person(session, "alex")
        today = dt.date.today()
        visit = LogContact(CONTOSO, alex, "1" * 32, today, ContactKind.VISIT, "Plant tour", "Hanna")
        visit_id = (await log_contact(session, visit)).contact.id  # the KA manager must know
        price = LogDecision(
            CONTOSO, megan, "2" * 32, "Second visit is paid", DecisionCategory.PRICING, "Paid.", "Megan", today
        )
        await log_decision(session, price)  # pricing: the country lead must know; Megan decided it herself
    seen = {}
    for user in ("megan", "patti", "alex", "adele"):
        status, body, _ = await tabs.get(f"/tabs/log/content?account={CONTOSO}", tabs.token(user))
        assert status == 200 and body.count("0 of 1") == 2, "both items still wait for someone"
        seen[user] = (
            marked(body),
            body.count(">Waiting for you</fluent-badge>"),
            "waits for your acknowledgement" in body,
        )
    assert seen == {
        "megan": (["Hanna"], 1, True),
        "patti": (["Second visit is paid"], 1, True),
        "alex": ([], 0, False),
        "adele": ([], 0, False),
    }
    async with tabs.bot.db.transaction() as session:
        account = await get_account(session, CONTOSO)
        await acknowledge(session, account, (ItemKind.CONTACT, visit_id), await person(session, "megan"))
    status, body, _ = await tabs.get(f"/tabs/log/content?account={CONTOSO}&locale=de", tabs.token("megan"))
    assert marked(body) == [] and "Wartet auf Sie" not in body and "1 von 1" in body, "she acknowledged it"
    status, body, _ = await tabs.get(f"/tabs/log/content?account={CONTOSO}&locale=de", tabs.token("patti"))
    assert marked(body) == ["Second visit is paid"] and "Einer dieser Einträge wartet auf Ihre Bestätigung" in body


async def test_the_stakeholder_map_draws_the_org_chart_and_its_gaps_for_the_team_only(tabs_on_both: Tabs) -> None:
    tabs = tabs_on_both
    status, body, _ = await tabs.get(f"/tabs/stakeholders/content?account={CONTOSO}", tabs.token("adele"))
    assert status == 200 and body.count('<tr data-stakeholder="') == 2, "the demo's two, nobody met yet"
    assert "is known only by" not in body and "No decision maker or economic buyer known" in body
    async with tabs.bot.db.transaction() as session:
        people = await seed_org_chart(session, dt.date.today())
    status, body, _ = await tabs.get(f"/tabs/stakeholders/content?account={CONTOSO}", tabs.token("adele"))
    assert status == 200 and body.count('<tr data-stakeholder="') == body.count('<g class="person ') == len(people)
    drawn = body[body.index('<svg class="map"') :]
    assert drawn.count('<path class="influence"') == 2 and drawn.count('<path class="reports"') == 5
    gaps = body[body.index('class="gap-list"') : body.index("</ul>", body.index('class="gap-list"'))]
    assert re.findall(r"</span> ([^<]+)</li>", gaps) == [
        "Buying-centre roles with nobody known in them: Champion",
        "Decision maker Klaus Meier is known only by Megan Bowen",
        "Decision maker Jana Vogel is known only by Megan Bowen",
        "Not on our side and more influential than our supporters: Jana Vogel",
    ]
    assert MARKUP_NAME not in body and "&lt;b&gt;Sabine&lt;/b&gt; &amp; Co" in body, "escaped, in the map and table"
    status, german, _ = await tabs.get(f"/tabs/stakeholders/content?account={CONTOSO}&locale=de", tabs.token("megan"))
    assert "Nur Megan Bowen kennt Klaus Meier aus dem Kreis der Entscheider" in german
    refusals = set()
    for user, account in (("isaiah", CONTOSO), ("lynne", CONTOSO), ("megan", 999)):
        status, body, _ = await tabs.get(f"/tabs/stakeholders/content?account={account}", tabs.token(user))
        assert status == 403 and "Contoso" not in body and "Klaus" not in body, user
        refusals.add(body)
    assert len(refusals) == 1, "a member of another account, an outsider, an unknown account: one answer"
    assert CONTOSO_CHANNEL  # the channel the account lives in, for readers of this test


async def test_a_confidential_contact_draws_no_tie_for_members_but_counts_for_the_ka_manager(tabs: Tabs) -> None:
    """Who met whom in a confidential contact, and when, is one of its details: members see the map without it."""
    async with tabs.bot.db.transaction() as session:
        people = await seed_org_chart(session, dt.date.today())
    url = f"/tabs/stakeholders/content?account={CONTOSO}"
    single = "Decision maker Klaus Meier is known only by Megan Bowen"
    _, members_before, _ = await tabs.get(url, tabs.token("alex"))
    _, managers_before, _ = await tabs.get(url, tabs.token("megan"))
    assert single in members_before and single in managers_before
    async with tabs.bot.db.transaction() as session:
        adele = await person(session, "adele")
        secret = LogContact(
            CONTOSO,
            adele,
            "c" * 32,
            dt.date.today(),
            ContactKind.MEETING,
            "A word in confidence",
            stakeholder_ids=(people["Klaus Meier"].id,),
            confidential=True,
        )
        await log_contact(session, secret)
    _, members_after, _ = await tabs.get(url, tabs.token("alex"))
    assert members_after == members_before, "nothing of the confidential contact shows on a member's map"
    _, managers_after, _ = await tabs.get(url, tabs.token("megan"))
    assert single not in managers_after, "the KA manager's map counts it: Adele knows Klaus too"
    klaus = re.search(rf'<tr data-stakeholder="{people["Klaus Meier"].id}">.*?</tr>', managers_after, re.S)
    assert klaus and "Adele Vance" in klaus.group(0)


async def test_an_account_without_customer_people_says_how_to_add_them(tabs: Tabs) -> None:
    async with tabs.bot.db.transaction() as session:
        await session.execute(delete(Stakeholder).where(Stakeholder.account_id == FABRIKAM))
    status, body, _ = await tabs.get(f"/tabs/stakeholders/content?account={FABRIKAM}", tabs.token("alex"))
    assert status == 200 and "No customer people yet: add them with" in body and "<svg" not in body


async def test_in_local_mode_dev_tokens_of_playground_users_sign_in(sqlite_url: str, connector: ConnectorFake) -> None:

    await migrate_and_seed(sqlite_url)
    settings = Settings(
        _env_file=None, nudge_weekday="off", monthly_kpi_cards=False, database_url=sqlite_url, tab_dev_secret="s" * 32
    )  # type: ignore[call-arg]
    bot = await RunningBot(settings, connector).start()
    try:
        token = TabTokens(settings).dev_token(AAD["alex"], TENANT_ID, "Alex Wilber")
        forged = TabTokens(settings.model_copy(update={"tab_dev_secret": "x" * 32})).dev_token(
            AAD["alex"], TENANT_ID, "A"
        )
        async with aiohttp.ClientSession() as http:
            for bearer, expected in ((token, 200), (forged, 401)):
                headers = {"Authorization": f"Bearer {bearer}"}
                async with http.get(f"{bot.url}/tabs/plan/content?account={FABRIKAM}", headers=headers) as r:
                    assert r.status == expected
    finally:
        await bot.stop()


async def test_the_ka_manager_starts_a_plan_review_from_the_plan_tab(tabs: Tabs) -> None:
    async def start(user: str, due: str) -> tuple[int, str]:
        headers = {"Authorization": f"Bearer {tabs.token(user)}"}
        url = f"{tabs.bot.url}/tabs/plan/review?account={CONTOSO}"
        async with tabs.http.post(url, json={"due_on": due}, headers=headers) as r:
            return r.status, await r.text()

    next_week = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    status, body = await start("megan", next_week)
    assert status == 409 and "no objective or action with an owner" in body
    async with tabs.bot.db.transaction() as session:
        adele_id = (await person(session, "adele")).id
    await tabs.save("megan", 0, {"sections": {}, "items": [ITEM | {"owner_id": adele_id}]})
    assert (await start("adele", next_week))[0] == 403
    assert (await start("megan", "2001-01-01"))[0] == 400
    status, body = await start("megan", next_week)
    assert status == 200 and "Review started" in body and "running, owners answer by" in body
    assert 'id="review-form"' not in body, "no second review while one runs"
    status, body = await start("megan", next_week)
    assert status == 409 and "already running" in body


async def test_adding_a_tab_by_hand_offers_the_three_tabs_for_the_channels_account_to_its_team_only(
    tabs: Tabs,
) -> None:
    status, page, _ = await tabs.get("/tabs/config?locale=de-DE")
    assert status == 200 and "kambot-Registerkarte hinzufügen" in page
    assert all(f'value="{kind}"' in page for kind in ("plan", "log", "stakeholders"))

    status, text, _ = await tabs.get(f"/tabs/config/channel?channel={CONTOSO_CHANNEL}", tabs.token("alex"))
    assert status == 200 and '"account_id": 1' in text and "Key account: Contoso Pharma" in text
    status, refused, _ = await tabs.get(f"/tabs/config/channel?channel={CONTOSO_CHANNEL}", tabs.token("isaiah"))
    assert status == 403 and "no key account whose team you are on" in refused and "Contoso" not in refused
    status, unknown, _ = await tabs.get("/tabs/config/channel?channel=channel-random-id", tabs.token("alex"))
    assert (status, unknown) == (403, refused), "a channel of no account and one of another team: the same answer"
    status, text, _ = await tabs.get(f"/tabs/config/channel?channel={CONTOSO_CHANNEL}")
    assert status == 401 and "could not tell who you are" in text


async def test_the_privacy_statement_and_terms_the_app_package_points_to_are_served(tabs: Tabs) -> None:
    for path, english, german in (
        ("/privacy", "never their content", "nie deren Inhalt"),
        ("/terms", "MIT licence", "MIT-Lizenz"),
    ):
        status, page, _ = await tabs.get(path)
        assert status == 200 and english in page
        status, page, _ = await tabs.get(f"{path}?locale=de")
        assert status == 200 and german in page


FORMULAS = (
    "=cmd|' /C calc'!A0",
    "a;=1+2",
    "b,=1+2",
    "+SUM(1)",
    "-2+3",
    "@SUM(1)",
    "  =indented",
    "\u00a0=no-break space",
    "\uff1dfull-width",
    "\t=tab",
    'c;"=quoted',
)


async def get_bytes(tabs: Tabs, path: str, token: str) -> tuple[int, bytes]:
    async with tabs.http.get(f"{tabs.bot.url}{path}", headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status, await r.read()


def starts_like_a_formula(cell: str) -> bool:
    """Blanks and quotes before it do not keep a spreadsheet from reading a formula."""
    return cell.lstrip(' \u00a0"')[:1] in ("=", "+", "-", "@", "\t", "\uff1d") or cell[:1] in ("=", "+", "-", "@", "\t")


async def test_the_exports_open_as_text_in_english_and_german_excel(tabs: Tabs) -> None:
    """Excel splits a CSV on `,` in English and on `;` in German: no cell may start like a formula
    either way; the .xlsx holds every cell as a string."""
    async with tabs.bot.db.transaction() as session:
        alex = await person(session, "alex")
        for i, summary in enumerate(FORMULAS):
            contact = LogContact(CONTOSO, alex, f"{i:032d}", dt.date.today(), ContactKind.CALL, summary, summary)
            await log_contact(session, contact)
    token = tabs.token("megan")
    status, exported = await get_bytes(tabs, f"/tabs/log/export.csv?account={CONTOSO}", token)
    assert status == 200
    content = exported.decode("utf-8").lstrip("\ufeff")
    for separator in (",", ";"):
        cells = [cell for row in csv.reader(io.StringIO(content), delimiter=separator) for cell in row]
        assert len(cells) > len(FORMULAS)
        assert not [c for c in cells if starts_like_a_formula(c)], separator

    status, book = await get_bytes(tabs, f"/tabs/log/export.xlsx?account={CONTOSO}", token)
    assert status == 200
    sheet = openpyxl.load_workbook(io.BytesIO(book)).active
    values = [cell for row in sheet.iter_rows() for cell in row]
    assert {c.data_type for c in values} == {"s"}, "every cell a string: never a formula"
    shown = {c.value for c in values}
    assert set(FORMULAS) - {"\t=tab"} <= shown, "the text itself is kept as typed"


async def test_the_ka_manager_reads_a_confidential_contact_in_the_log_tab_and_members_do_not(tabs: Tabs) -> None:
    async with tabs.bot.db.transaction() as session:
        alex = await person(session, "alex")
        secret = LogContact(
            CONTOSO, alex, "9" * 32, dt.date.today(), ContactKind.CALL, "Merger talk", "Hanna", confidential=True
        )
        await log_contact(session, secret)
    for user, sees in (("megan", True), ("alex", True), ("adele", False)):
        status, body, _ = await tabs.get(f"/tabs/log/content?account={CONTOSO}", tabs.token(user))
        assert status == 200 and ("Merger talk" in body) is sees, user
        status, exported = await get_bytes(tabs, f"/tabs/log/export.csv?account={CONTOSO}", tabs.token(user))
        assert status == 200 and ("Merger talk" in exported.decode()) is sees, user


async def test_a_server_started_moments_after_its_machine_booted_accepts_sign_ins(sqlite_url: str) -> None:
    """The monotonic clock counts from the machine's boot: "keys last fetched at 0" must not mean "just now"."""
    entra = await EntraFake().start()
    try:
        seconds_since_boot = 42.0
        tokens = TabTokens(tab_settings(sqlite_url, entra), clock=lambda: seconds_since_boot)
        user = await tokens.user_of(f"Bearer {entra.token(AAD['megan'], TENANT_ID)}")
        assert user.aad_object_id == AAD["megan"] and entra.fetches == 1
    finally:
        await entra.stop()


async def test_digits_of_other_scripts_in_an_id_are_refused_like_any_malformed_id(tabs: Tabs) -> None:
    """Python's `isdigit` takes "²" (which int() then refuses) and "١" (which int() reads as 1): neither is an id
    kambot writes, so neither may crash a page or name an account."""
    token = tabs.token("megan")
    for odd in ("%C2%B2", "%D9%A1"):  # "²", and the Arabic-Indic digit one
        assert (await tabs.get(f"/tabs/plan?account={odd}"))[0] == 404
        status, body, _ = await tabs.get(f"/tabs/plan/content?account={odd}", token)
        assert status == 403 and "Contoso" not in body, odd
        status, body, _ = await tabs.get(f"/tabs/log/content?account={CONTOSO}&person={odd}", token)
        assert status == 200 and "Log" in body, odd
