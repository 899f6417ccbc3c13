"""The channel tabs (Plan, Log, Stakeholders, Insights) and the portfolio page, served by the bot itself.

The page itself holds no account data: it loads the Teams JavaScript library,
gets the user's single sign-on token and asks for its content with it. Every route
that shows or changes account data is in TAB_ROUTES with its act, and one middleware
(`TabPages.access`) signs the user in and asks the access policy before the handler
runs: 401 without a valid token, the same 403 for an unknown account and for one whose
team the user is not on, and never a byte of data with either. A route about no one account (the
portfolio) gets the person with their roles on any team, and the policy decides which accounts it shows.
Pages are rendered on the server (Jinja, escaped), so no front-end build is needed: the HTML is
complete as sent, and Microsoft's Fluent UI web components (buttons, badges, message bars) and design
tokens (the Teams themes) enhance it. Both come from npm with the project and, like the Teams client
library, are served from our own origin: the pages' Content-Security-Policy allows nothing else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.links import ACCOUNT_PATH, TAB_KINDS, account_id_in
from bot.services import Services
from bot.tabs.exports import XLSX_TYPE, log_csv, log_xlsx, table_xlsx
from bot.tabs.relationship_map import draw_map, known_text
from bot.tabs.signin import NotSignedIn, TabTokens, TabUser
from bot.tabs.steering import (
    PORTFOLIO_COLUMNS,
    SORTABLE,
    YEARS_AHEAD,
    YEARS_BACK,
    account_cells,
    ack_chart,
    dependency_lines,
    health_chart,
    matrix_chart,
    parse_results_entry,
    portfolio_cells,
    trend_chart,
)
from cards.gaps import map_gap_lines
from cards.i18n import Texts
from cards.timeline import timeline_item
from kam.access import (
    RULES,
    Act,
    Audience,
    KpiScope,
    Principal,
    Subject,
    is_allowed,
    kpi_scope,
    map_counts_confidential,
    may_see_details,
    require,
)
from kam.accounts import account_for_channel, stakeholders_of, team_roles
from kam.dependency import dependency_risk
from kam.errors import InvalidReference, KamError, NotAllowed
from kam.health import health_from_kpis, health_trend, visible_health
from kam.kpis import kpis_for, monthly_trend, within_scope
from kam.models import Account, Contact, ItemKind, Person, ResultFigures, Tier
from kam.people import Caller, find_person
from kam.plans import (
    HORIZON_YEARS,
    SECTION_MAX,
    InvalidPlan,
    ItemStatus,
    NotYourCells,
    PlanConflict,
    PlanContent,
    PlanItem,
    PlanItemKind,
    current_plan,
    may_edit_everything,
    parse_plan,
    plan_versions,
    save_plan,
    sections_for,
)
from kam.portfolio import PortfolioQuery, chosen, is_late, latest_results_year, portfolio_rows
from kam.relationships import relationship_map
from kam.results import set_results
from kam.reviews import NothingToReview, ReviewRunning, reviews_of, start_review
from kam.stakeholders import relationship_model
from kam.subjects import contact_subject
from kam.text import plain_number
from kam.timeline import LogFilters, LogRow, filtered_log, waiting_for
from kam.whitespace import CellStatus, totals

JS = "application/javascript"
ROOT = Path(__file__).resolve().parent
NODE_MODULES = ROOT.parents[1] / "node_modules"  # installed by npm with the project (package.json)
STATIC = {
    "tab.js": (ROOT / "static" / "tab.js", JS),
    "tab.css": (ROOT / "static" / "tab.css", "text/css"),
    "theme.js": (ROOT / "static" / "theme.js", JS),
    "config.js": (ROOT / "static" / "config.js", JS),
    # The Teams client library and Fluent UI's web components must come from our own origin.
    "teams.js": (NODE_MODULES / "@microsoft" / "teams-js" / "dist" / "umd" / "MicrosoftTeams.min.js", JS),
    "fluent.js": (NODE_MODULES / "@fluentui" / "web-components" / "dist" / "web-components.min.js", JS),
}
# Fluent's design tokens (the Teams themes) as the package ships them: ES modules importing each other by
# relative paths, so the browser loads them as they are, from this folder and nowhere else.
FLUENT_TOKENS = NODE_MODULES / "@fluentui" / "tokens" / "lib"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'self' teams.microsoft.com *.teams.microsoft.com *.cloud.microsoft *.office.com *.skype.com"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(ROOT / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
)


class Refused(Exception):
    def __init__(self, status: int, key: str) -> None:
        super().__init__(key)
        self.status = status
        self.key = key


def _texts(request: web.Request) -> Texts:
    return Texts(request.query.get("locale") or request.headers.get("Accept-Language", "").split(",")[0])


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", headers=SECURITY_HEADERS)


def _render(name: str, t: Texts, status: int = 200, **values: Any) -> web.Response:
    return _html(TEMPLATES.get_template(name).render(t=t, **values), status)


def _account_id(request: web.Request) -> int | None:
    raw = request.query.get("account", "")
    return plain_number(raw)


def _date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _number(raw: str | None) -> int | None:
    return plain_number(raw) if raw else None


def log_filters(query: Any) -> LogFilters:
    kind = query.get("type")
    return LogFilters(
        kind=kind if kind in ("contact", "decision") else None,
        person_id=_number(query.get("person")),
        stakeholder_id=_number(query.get("stakeholder")),
        since=_date(query.get("from")),
        until=_date(query.get("to")),
        open_only=query.get("open") == "1",
    )


@dataclass
class Viewer:
    """The signed-in person the policy let in, the account, and the transaction the handler works in."""

    principal: Principal
    account: Account
    session: AsyncSession
    notify: bool = False  # the handler queued messages: the outbox is kicked after the commit

    @property
    def person(self) -> Person:
        assert self.principal.person is not None, "the policy lets in known people only"
        return self.principal.person


@dataclass
class PortfolioViewer:
    """The signed-in person the policy let in on a route about no one account; the policy picks the accounts."""

    principal: Principal
    session: AsyncSession
    notify: bool = False


@dataclass(frozen=True)
class TabRoute:
    """A tab page or action, and what the access policy asks of it (None: it holds no account data).

    `from_channel`: the account is the one of the channel named in `?channel=` (the tab set-up page);
    otherwise the one named in `?account=`. `figures`: the account's figures, which the head of KAM sees on
    any account: kam.access.kpi_scope lets in who sees some of them, instead of `act`.
    """

    method: str
    path: str
    handler: str
    act: Act | None = None
    from_channel: bool = False
    json: bool = False
    figures: bool = False


TAB_ROUTES: tuple[TabRoute, ...] = (
    TabRoute("GET", "/tabs/static/{name}", "static"),
    TabRoute("GET", "/tabs/static/fluent-tokens/{path:.+}", "fluent_tokens"),
    TabRoute("GET", "/tabs/log/export.csv", "export_csv", Act.EXPORT),
    TabRoute("GET", "/tabs/log/export.xlsx", "export_xlsx", Act.EXPORT),
    TabRoute("POST", "/tabs/plan/save", "save", Act.EDIT_PLAN),
    TabRoute("POST", "/tabs/plan/review", "start_review", Act.MANAGE),
    TabRoute("POST", "/tabs/plan/results", "save_results", Act.EDIT_RESULTS),
    TabRoute("GET", "/tabs/portfolio/content", "portfolio", Act.VIEW_PORTFOLIO),
    TabRoute("GET", "/tabs/portfolio/export.xlsx", "portfolio_export", Act.VIEW_PORTFOLIO),
    TabRoute("GET", "/tabs/portfolio", "portfolio_shell"),
    TabRoute("GET", "/privacy", "legal"),
    TabRoute("GET", "/terms", "legal"),
    TabRoute("GET", f"{ACCOUNT_PATH}{{account_id}}", "account_link"),
    TabRoute("GET", "/tabs/config", "config_page"),
    TabRoute("GET", "/tabs/config/channel", "config_channel", Act.VIEW, from_channel=True, json=True),
    TabRoute("GET", "/tabs/insights/content", "insights", Act.VIEW, figures=True),
    TabRoute("GET", "/tabs/{kind}/content", "content", Act.VIEW),
    TabRoute("GET", "/tabs/{kind}", "shell"),
)
VIEWER = web.RequestKey("kambot_tab_viewer", object)  # set by the middleware, for the routes with an act


class TabPages:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.tokens = TabTokens(services.settings)
        self.kpi_cache = services.kpi_cache  # the figures of complete days, computed once a day in this process
        self._routes: dict[str, TabRoute] = {}

    def register(self, app: web.Application) -> None:
        """The routes of TAB_ROUTES, and the middleware that lets only those the policy allows reach them."""
        for number, route in enumerate(TAB_ROUTES):
            name = f"kambot_tab_{number}"
            app.router.add_route(route.method, route.path, getattr(self, route.handler), name=name)
            self._routes[name] = route
        app.middlewares.append(self.access)

    @web.middleware
    async def access(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """The one door of the tabs: sign-in, then the account looked up and the policy asked; else 401/403.

        A tab route missing from TAB_ROUTES is not served at all (fail closed).
        """
        name = request.match_info.route.name or ""
        route = self._routes.get(name)
        if route is None:
            if request.path.startswith("/tabs"):
                raise web.HTTPNotFound()
            return await handler(request)
        if route.act is None:
            return await handler(request)
        t = _texts(request)
        try:
            user = await self._signed_in(request)  # may fetch Entra's keys: before any transaction
            async with self.services.db.transaction() as session:
                viewer: Viewer | PortfolioViewer
                if RULES[route.act].account:
                    viewer = await self._viewer(session, request, user, route)
                else:
                    viewer = await self._portfolio_viewer(session, user, route.act)
                request[VIEWER] = viewer
                response = await handler(request)
        except Refused as refused:
            if route.json:
                return web.json_response({"message": t(refused.key)}, status=refused.status)
            return _render("message.html", t, refused.status, text=t(refused.key))
        if viewer.notify:
            self.services.sender.kick()
        return response

    async def _viewer(self, session: AsyncSession, request: web.Request, user: TabUser, route: TabRoute) -> Viewer:
        """The same 403 whether the account exists or not, and whether the user is not on its team or unknown."""
        assert route.act is not None
        forbidden = Refused(403, "tab.config.not_account_channel" if route.from_channel else "tab.forbidden")
        if route.from_channel:
            account = await account_for_channel(session, request.query.get("channel", "")[:200])
        else:
            account_id = _account_id(request)
            account = await session.get(Account, account_id) if account_id is not None else None
        person = await find_person(session, Caller(user.aad_object_id, None, user.name))
        principal = Principal(person, is_head_of_kam=user.aad_object_id in self.services.settings.head_of_kam_aad_ids)
        if account is None or person is None:
            raise forbidden
        if route.figures:
            if kpi_scope(principal, account) is None:
                raise forbidden
            return Viewer(principal, account, session)
        try:
            require(principal, route.act, Subject(account=account))
        except NotAllowed:
            raise Refused(403, f"error.not_allowed.{route.act.value}") from None
        except KamError:
            raise forbidden from None
        return Viewer(principal, account, session)

    async def _portfolio_viewer(self, session: AsyncSession, user: TabUser, act: Act) -> PortfolioViewer:
        """For a route about no one account: the person's roles on any team; 403 if the policy says no."""
        person = await find_person(session, Caller(user.aad_object_id, None, user.name))
        is_head = user.aad_object_id in self.services.settings.head_of_kam_aad_ids
        principal = Principal(person, is_head_of_kam=is_head, any_roles=await team_roles(session, person))
        try:
            require(principal, act)
        except KamError:
            raise Refused(403, "portfolio.forbidden") from None
        return PortfolioViewer(principal, session)

    async def _signed_in(self, request: web.Request) -> TabUser:
        try:
            return await self.tokens.user_of(request.headers.get("Authorization"))
        except NotSignedIn:
            raise Refused(401, "tab.sign_in_failed") from None

    async def static(self, request: web.Request) -> web.StreamResponse:
        entry = STATIC.get(request.match_info["name"])
        if entry is None or not entry[0].is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(entry[0], headers={"Content-Type": entry[1], "Cache-Control": "public, max-age=3600"})

    async def fluent_tokens(self, request: web.Request) -> web.StreamResponse:
        """A module of Fluent's design tokens; nothing outside their folder, and nothing but modules."""
        folder = FLUENT_TOKENS.resolve()
        try:
            wanted = (folder / request.match_info["path"]).resolve()
            found = wanted.suffix == ".js" and wanted.is_relative_to(folder) and wanted.is_file()
        except (ValueError, OSError):  # a NUL byte, a name too long for the file system
            found = False
        if not found:
            raise web.HTTPNotFound()
        return web.FileResponse(wanted, headers={"Content-Type": JS, "Cache-Control": "public, max-age=3600"})

    async def legal(self, request: web.Request) -> web.Response:
        """The privacy statement and terms of use the app package points to, unless the company has its own."""
        t = _texts(request)
        page = request.path.strip("/")
        paragraphs = [t(f"legal.{page}.{n}") for n in (1, 2, 3)]
        return _render("prose.html", t, lang=t.language, title=t(f"legal.{page}.title"), paragraphs=paragraphs)

    async def account_link(self, request: web.Request) -> web.Response:
        """An account link opened in a browser: what it is for, and the same page whatever the id.

        Nobody is signed in here, so the page names nothing: not the account, nor whether it exists.
        """
        t = _texts(request)
        if account_id_in(request.match_info["account_id"]) is None:
            raise web.HTTPNotFound()
        paragraphs = [t(f"link.page.{n}") for n in (1, 2)]
        return _render("prose.html", t, lang=t.language, title=t("link.page.title"), paragraphs=paragraphs)

    async def config_page(self, request: web.Request) -> web.Response:
        """The configurable tab's set-up page, shown when someone adds a kambot tab to a channel by hand."""
        t = _texts(request)
        return _render("config.html", t, lang=t.language, kinds=TAB_KINDS)

    async def config_channel(self, request: web.Request) -> web.Response:
        """The key account of the channel a tab is being added to, for a signed-in member of its team."""
        t, account = _texts(request), _viewer(request).account
        message = t("tab.config.for_account", account=account.name)
        return web.json_response({"account_id": account.id, "name": account.name, "message": message})

    async def shell(self, request: web.Request) -> web.Response:
        """The page around a tab: no account data, just what it takes to sign in and ask for the content."""
        t = _texts(request)
        kind = request.match_info["kind"]
        account_id = _account_id(request)
        if kind not in TAB_KINDS or account_id is None:
            raise web.HTTPNotFound(text=t("tab.not_found"))
        theme = request.query.get("theme", "default")
        return _render(
            "shell.html",
            t,
            kind=kind,
            account_id=account_id,
            query="",
            lang=t.language,
            title=t(f"tab.{kind}.name"),
            theme=theme if theme in ("default", "dark", "contrast") else "default",
        )

    async def content(self, request: web.Request) -> web.Response:
        t, viewer = _texts(request), _viewer(request)
        kind = request.match_info["kind"]
        if kind == "plan":
            return await self._plan(viewer, t)
        if kind == "log":
            return await self._log(viewer, t, log_filters(request.query))
        if kind == "stakeholders":
            return await self._stakeholders(viewer, t)
        raise web.HTTPNotFound()

    async def _plan(
        self,
        viewer: Viewer,
        t: Texts,
        *,
        notice: str = "",
        notice_kind: str = "done",
        yours: PlanContent | None = None,
        status: int = 200,
    ) -> web.Response:
        session, account, person = viewer.session, viewer.account, viewer.person
        plan = await current_plan(session, account)
        reviews = await reviews_of(session, account.id)
        start = (plan.saved_at or dt.datetime.now(dt.UTC)).date()
        sections = sections_for(account.tier)
        return _render(
            "plan.html",
            t,
            status,
            account=account,
            plan=plan,
            full=len(sections) > 3,
            horizon=(start.year, start.year + HORIZON_YEARS),
            sections=sections,
            section_max=SECTION_MAX,
            everything=may_edit_everything(account, person),
            viewer_id=person.id,
            team=[(m.person.id, m.person.name) for m in account.members],
            kinds=[k.value for k in PlanItemKind],
            statuses=[s.value for s in ItemStatus],
            blank=PlanItem(title="-", owner_id=person.id).model_copy(update={"title": ""}),
            grid=plan.content.whitespace,
            cells={cell.place: cell for cell in plan.content.whitespace.cells},
            grid_totals=totals(plan.content.whitespace),
            cell_statuses=[s.value for s in CellStatus],
            versions=(await plan_versions(session, account.id))[:10],
            reviews=reviews,
            running=any(r.closed_at is None for r in reviews),
            today=dt.date.today().isoformat(),
            review_due=(dt.date.today() + dt.timedelta(days=7)).isoformat(),
            notice=notice,
            notice_kind=notice_kind,
            yours=yours,
            results=await self._results_of(viewer),
            results_years=(dt.date.today().year - YEARS_BACK, dt.date.today().year + YEARS_AHEAD),
            this_year=dt.date.today().year,
        )

    async def _results_of(self, viewer: Viewer) -> list[ResultFigures] | None:
        """The account's results figures by year, for those who may enter them (else None: no form)."""
        if not is_allowed(viewer.principal, Act.EDIT_RESULTS, Subject(account=viewer.account)):
            return None
        query = select(ResultFigures).where(ResultFigures.account_id == viewer.account.id)
        return list(await viewer.session.scalars(query.order_by(ResultFigures.year.desc())))

    async def save_results(self, request: web.Request) -> web.Response:
        """A KA manager enters an account's results figures for a year in the Plan tab."""
        t, viewer = _texts(request), _viewer(request)
        entry, problems = parse_results_entry(await _json_body(request), dt.date.today(), t)
        if entry is None:
            notice = t("kpi.results.invalid", problems="; ".join(problems))
            return await self._plan(viewer, t, notice=notice, notice_kind="problem", status=400)
        await set_results(
            viewer.session,
            viewer.account,
            viewer.person,
            entry.year,
            revenue=entry.revenue,
            margin=entry.margin,
            potential=entry.potential,
            share_of_wallet=entry.share_of_wallet,
        )
        return await self._plan(viewer, t, notice=t("kpi.results.saved", year=entry.year))

    async def save(self, request: web.Request) -> web.Response:
        t, viewer = _texts(request), _viewer(request)
        raw = await _json_body(request)
        if not isinstance(raw, dict) or not isinstance(raw.get("base_version"), int):
            return _render("message.html", t, 400, text=t("tab.plan.invalid", problems="base_version"))
        problem = partial(self._plan, viewer, t, notice_kind="problem")
        try:
            content = parse_plan({k: v for k, v in raw.items() if k != "base_version"}, viewer.account)
            saved = await save_plan(viewer.session, viewer.account, viewer.person, raw["base_version"], content)
        except InvalidPlan as error:
            named = [f"{p.where}: {t(p.code, **p.values)}" for p in error.problems[:5]]
            return await problem(notice=t("tab.plan.invalid", problems="; ".join(named)), status=400)
        except NotYourCells:
            return await problem(notice=t(NotYourCells.code), status=403)
        except NotAllowed:
            return await problem(notice=t("tab.plan.not_allowed"), status=403)
        except InvalidReference:
            return await problem(notice=t("error.invalid_reference"), status=400)
        except PlanConflict as conflict:
            current = conflict.current
            date = current.saved_at.date().isoformat()
            text = t("tab.plan.conflict", name=current.saved_by.name, version=current.version, date=date)
            return await problem(notice=text, yours=content, status=409)
        return await self._plan(viewer, t, notice=t("tab.plan.saved", version=saved.version))

    async def start_review(self, request: web.Request) -> web.Response:
        """The KA manager starts a plan review from the Plan tab, as with "review plan" in the channel."""
        t, viewer = _texts(request), _viewer(request)
        raw = await _json_body(request)
        due = _date(raw.get("due_on")) if isinstance(raw, dict) and isinstance(raw.get("due_on"), str) else None
        problem = partial(self._plan, viewer, t, notice_kind="problem")
        if due is None or due < dt.date.today():
            return await problem(notice=t("review.start.past"), status=400)
        try:
            await start_review(viewer.session, self.services.rules, viewer.account, viewer.person, due)
        except (ReviewRunning, NothingToReview) as error:
            return await problem(notice=t(error.code), status=409)
        viewer.notify = True
        return await self._plan(viewer, t, notice=t("tab.plan.review_started"))

    async def _rows(self, viewer: Viewer, t: Texts, filters: LogFilters) -> list[dict[str, Any]]:
        """The log as this viewer may read it: a tab (and its export) is theirs alone, so a confidential
        contact shows its details to those the access policy lets read them, and to nobody else.
        `mine`: the item waits for this viewer's own acknowledgement."""
        rows: list[LogRow] = await filtered_log(viewer.session, viewer.account.id, filters)
        mine = await waiting_for(viewer.session, viewer.account.id, viewer.person.id)
        shown = []
        for row in rows:
            hidden = isinstance(row.item, Contact) and not may_see_details(
                viewer.principal, await contact_subject(viewer.session, row.item), Audience.PRIVATE
            )
            line = timeline_item(t, row.item, row.on, hide_confidential=hidden)
            acks = t("tab.log.ack_count", done=row.acknowledged, total=row.asked) if row.asked else "—"
            shown.append({**line.__dict__, "acks": acks, "mine": (ItemKind(row.kind), row.item.id) in mine})
        return shown

    async def _log(self, viewer: Viewer, t: Texts, filters: LogFilters) -> web.Response:
        account = viewer.account
        team = [(m.person.id, m.person.name) for m in account.members]
        rows = await self._rows(viewer, t, filters)
        stakeholders = await stakeholders_of(viewer.session, account.id)
        return _render(
            "log.html",
            t,
            account=account,
            filters=filters,
            team=team,
            stakeholders=stakeholders,
            rows=rows,
            mine=sum(1 for row in rows if row["mine"]),
        )

    async def _export_rows(self, request: web.Request) -> tuple[list[str], list[list[str]]]:
        t, viewer = _texts(request), _viewer(request)
        rows = await self._rows(viewer, t, log_filters(request.query))
        header = [t(f"tab.log.{key}") for key in ("date", "type", "what", "text", "person", "acks")]
        return header, [
            [row["on"].isoformat(), row["label"], row["headline"], row["text"], row["by"], row["acks"]] for row in rows
        ]

    async def export_csv(self, request: web.Request) -> web.Response:
        header, rows = await self._export_rows(request)
        return web.Response(
            body=log_csv(header, rows),
            headers={
                **SECURITY_HEADERS,
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": 'attachment; filename="log.csv"',
            },
        )

    async def export_xlsx(self, request: web.Request) -> web.Response:
        header, rows = await self._export_rows(request)
        return web.Response(
            body=log_xlsx(header, rows, _texts(request)("tab.log.sheet")),
            headers={
                **SECURITY_HEADERS,
                "Content-Type": XLSX_TYPE,
                "Content-Disposition": 'attachment; filename="log.xlsx"',
            },
        )

    async def _stakeholders(self, viewer: Viewer, t: Texts) -> web.Response:
        """The relationship map, its coverage gaps in words and the same map as a table."""
        account, today = viewer.account, dt.date.today()
        model = await relationship_model(viewer.session, account.id, today)
        counted = map_counts_confidential(viewer.principal, account)
        relationships = await relationship_map(viewer.session, account, today, with_confidential=counted)
        title = t("map.svg_title", account=account.name)
        return _render(
            "stakeholders.html",
            t,
            account=account,
            model_text=t(f"model.{model.replace(':', '_')}"),
            drawn=draw_map(relationships, t, title) if relationships.stakeholders else None,
            gaps=map_gap_lines(t, relationships),
            known_text=partial(known_text, t=t),
        )

    async def insights(self, request: web.Request) -> web.Response:
        """One account's figures: all of them for its KA managers and the head of KAM, the flow for its team."""
        t, viewer = _texts(request), _viewer(request)
        account, today = viewer.account, dt.date.today()
        scope = kpi_scope(viewer.principal, account) or KpiScope.FLOW
        figures = await kpis_for(viewer.session, [account.id], today, self.kpi_cache)
        kpis = within_scope(figures[account.id], scope)
        trend = (await monthly_trend(viewer.session, [account.id], today, cache=self.kpi_cache)).get(account.id, [])
        health = await health_from_kpis(viewer.session, figures, today, self.services.selection.health)
        health_days = await health_trend(viewer.session, account.id, today)
        results = kpis.results
        reached = (
            results.revenue / results.revenue_target
            if results and results.revenue is not None and results.revenue_target
            else None
        )
        return _render(
            "insights.html",
            t,
            account=account,
            kpis=kpis,
            cells=account_cells(kpis, t),
            everything=scope == KpiScope.ALL,
            trend=trend,
            trend_chart=trend_chart(trend, t, account.name),
            ack_chart=ack_chart(trend, t, account.name),
            reached=reached,
            health=visible_health(health[account.id], scope),
            health_days=health_days,
            health_chart=health_chart(health_days, t),
        )

    async def portfolio_shell(self, request: web.Request) -> web.Response:
        """The portfolio page around its content; like a tab's, it holds no account data."""
        t = _texts(request)
        theme = request.query.get("theme", "default")
        query = PortfolioQuery.parse(request.query)
        return _render(
            "shell.html",
            t,
            kind="portfolio",
            account_id="",
            query=_portfolio_query_string(query),
            lang=t.language,
            title=t("portfolio.name"),
            theme=theme if theme in ("default", "dark", "contrast") else "default",
        )

    async def _portfolio_table(self, request: web.Request) -> tuple[PortfolioViewer, list[Any], PortfolioQuery]:
        viewer = _portfolio_viewer_of(request)
        query = PortfolioQuery.parse(request.query)
        selection = self.services.selection
        today = dt.date.today()
        rows = await portfolio_rows(
            viewer.session, viewer.principal, today, selection.score, self.kpi_cache, selection.health
        )
        return viewer, rows, query

    async def portfolio(self, request: web.Request) -> web.Response:
        t = _texts(request)
        viewer, rows, query = await self._portfolio_table(request)
        shown = chosen(rows, query)
        risk = None
        if viewer.principal.is_head_of_kam:
            year = await latest_results_year(viewer.session, dt.date.today())
            risk = (
                year,
                dependency_lines(await dependency_risk(viewer.session, year), self.services.selection.dependency, t),
            )
        matrix, points = matrix_chart(shown, t)
        return _render(
            "portfolio.html",
            t,
            rows=[
                (row, portfolio_cells(row, t), trend_chart(row.trend, t, row.account.name), is_late(row))
                for row in shown
            ],
            total=len(rows),
            columns=PORTFOLIO_COLUMNS,
            labels={column: t(f"portfolio.col.{column}") for column in PORTFOLIO_COLUMNS},
            sortable=SORTABLE,
            query=query,
            query_string=_portfolio_query_string(query),
            tiers=[tier.value for tier in Tier],
            risk=risk,
            matrix=matrix,
            points=points,
        )

    async def portfolio_export(self, request: web.Request) -> web.Response:
        """The rows of the page as it is filtered and sorted, one sheet; numbers as numbers, text as text."""
        t = _texts(request)
        _, rows, query = await self._portfolio_table(request)
        header = [t(f"portfolio.col.{key}") for key in PORTFOLIO_COLUMNS]
        cells = [portfolio_cells(row, t) for row in chosen(rows, query)]
        table = [[row[key].value for key in PORTFOLIO_COLUMNS] for row in cells]
        return web.Response(
            body=table_xlsx(header, table, t("portfolio.name")),
            headers={
                **SECURITY_HEADERS,
                "Content-Type": XLSX_TYPE,
                "Content-Disposition": 'attachment; filename="portfolio.xlsx"',
            },
        )


def _portfolio_viewer_of(request: web.Request) -> PortfolioViewer:
    viewer = request.get(VIEWER)
    assert isinstance(viewer, PortfolioViewer), "a portfolio route is reached only through the access middleware"
    return viewer


def _viewer(request: web.Request) -> Viewer:
    viewer = request.get(VIEWER)
    assert isinstance(viewer, Viewer), "a protected route is reached only through the access middleware"
    return viewer


def _portfolio_query_string(query: PortfolioQuery) -> str:
    """The page's sorting and filters as query parameters (already checked), to carry them to its content."""
    values = {"sort": query.sort, "order": "desc" if query.descending else "asc"}
    if query.tier is not None:
        values["tier"] = query.tier.value
    if query.text:
        values["q"] = query.text
    if query.late_only:
        values["late"] = "1"
    if query.health_below is not None:
        values["health_below"] = str(query.health_below)
    return "&" + urlencode(values)


async def _json_body(request: web.Request) -> object:
    try:
        return await request.json()
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
