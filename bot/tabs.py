"""The channel tabs (Plan, Log, Stakeholders), served by the bot itself.

The page itself holds no account data: it loads the Teams JavaScript library,
gets the user's single sign-on token and asks for its content with it. Content,
saves and the CSV export answer only for members of that account's team: 401
without a valid token, 403 for anyone else, and never a byte of data with either.
Pages are rendered on the server (Jinja, escaped), so no front-end build is needed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import Services
from bot.sso import NotSignedIn, TabTokens, TabUser
from cards.i18n import Texts
from cards.timeline import timeline_item
from kam.accounts import account_for_channel, get_account, role_of
from kam.errors import AccountNotFound, InvalidReference, NotAllowed
from kam.models import Account, Person
from kam.people import Caller, find_person
from kam.plans import (
    HORIZON_YEARS,
    SECTION_MAX,
    InvalidPlan,
    ItemStatus,
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
from kam.reviews import NothingToReview, ReviewRunning, reviews_of, start_review
from kam.stakeholders import relationship_picture
from kam.timeline import LogFilters, LogRow, filtered_log

KINDS = ("plan", "log", "stakeholders")
ROOT = Path(__file__).resolve().parent
STATIC = {
    "tab.js": (ROOT / "static" / "tab.js", "application/javascript"),
    "tab.css": (ROOT / "static" / "tab.css", "text/css"),
    "config.js": (ROOT / "static" / "config.js", "application/javascript"),
    # Installed by npm with the project (package.json); the Teams client library must come from our own origin.
    "teams.js": (
        ROOT.parent / "node_modules" / "@microsoft" / "teams-js" / "dist" / "umd" / "MicrosoftTeams.min.js",
        "application/javascript",
    ),
}
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


def _account_id(request: web.Request) -> int:
    raw = request.query.get("account", "")
    if not raw.isdigit() or len(raw) > 9:
        raise Refused(404, "tab.not_found")
    return int(raw)


def _date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _number(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else None


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


async def _member(session: AsyncSession, account: Account, user: TabUser) -> Person:
    """The signed-in user as a member of the account's team; Refused otherwise."""
    person = await find_person(session, Caller(user.aad_object_id, None, user.name))
    if person is None or role_of(account, person) is None:
        raise Refused(403, "tab.forbidden")
    return person


class TabPages:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.tokens = TabTokens(services.settings)

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_get("/tabs/static/{name}", self.static)
        router.add_get("/tabs/log/export.csv", self.export)
        router.add_post("/tabs/plan/save", self.save)
        router.add_post("/tabs/plan/review", self.start_review)
        router.add_get("/privacy", self.legal)
        router.add_get("/terms", self.legal)
        router.add_get("/tabs/config", self.config_page)
        router.add_get("/tabs/config/channel", self.config_channel)
        router.add_get("/tabs/{kind}/content", self.content)
        router.add_get("/tabs/{kind}", self.shell)

    async def static(self, request: web.Request) -> web.StreamResponse:
        entry = STATIC.get(request.match_info["name"])
        if entry is None or not entry[0].is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(entry[0], headers={"Content-Type": entry[1], "Cache-Control": "public, max-age=3600"})

    async def legal(self, request: web.Request) -> web.Response:
        """The privacy statement and terms of use the app package points to, unless the company has its own."""
        t = _texts(request)
        page = request.path.strip("/")
        paragraphs = [t(f"legal.{page}.{n}") for n in (1, 2, 3)]
        return _render("legal.html", t, lang=t.language, title=t(f"legal.{page}.title"), paragraphs=paragraphs)

    async def config_page(self, request: web.Request) -> web.Response:
        """The configurable tab's set-up page, shown when someone adds a kambot tab to a channel by hand."""
        t = _texts(request)
        return _render("config.html", t, lang=t.language, kinds=KINDS)

    async def config_channel(self, request: web.Request) -> web.Response:
        """The key account of the channel a tab is being added to, for a signed-in member of its team."""
        t = _texts(request)
        try:
            user = await self._signed_in(request)
            async with self.services.db.transaction() as session:
                account = await account_for_channel(session, request.query.get("channel", ""))
                if account is None:
                    raise Refused(404, "tab.config.not_account_channel")
                await _member(session, account, user)
        except Refused as refused:
            return web.json_response({"message": t(refused.key)}, status=refused.status)
        message = t("tab.config.for_account", account=account.name)
        return web.json_response({"account_id": account.id, "name": account.name, "message": message})

    async def shell(self, request: web.Request) -> web.Response:
        t = _texts(request)
        kind = request.match_info["kind"]
        if kind not in KINDS:
            raise web.HTTPNotFound(text=t("tab.not_found"))
        try:
            account_id = _account_id(request)
        except Refused as refused:
            raise web.HTTPNotFound(text=t(refused.key)) from None
        theme = request.query.get("theme", "default")
        return _render(
            "shell.html",
            t,
            kind=kind,
            account_id=account_id,
            lang=t.language,
            title=t(f"tab.{kind}.name"),
            theme=theme if theme in ("default", "dark", "contrast") else "default",
        )

    async def _viewer(self, session: AsyncSession, request: web.Request) -> tuple[Account, Person]:
        """The account asked for and the signed-in member of its team; Refused otherwise."""
        user = await self._signed_in(request)
        try:
            account = await get_account(session, _account_id(request))
        except AccountNotFound:
            # The same answer whether the account exists or not: nothing to learn from a 403.
            raise Refused(403, "tab.forbidden") from None
        return account, await _member(session, account, user)

    async def _signed_in(self, request: web.Request) -> TabUser:
        try:
            return await self.tokens.user_of(request.headers.get("Authorization"))
        except NotSignedIn:
            raise Refused(401, "tab.sign_in_failed") from None

    async def content(self, request: web.Request) -> web.Response:
        t = _texts(request)
        kind = request.match_info["kind"]
        if kind not in KINDS:
            raise web.HTTPNotFound()
        try:
            async with self.services.db.transaction() as session:
                account, person = await self._viewer(session, request)
                if kind == "plan":
                    return await self._plan(session, t, account, person)
                if kind == "log":
                    return await self._log(session, t, account, log_filters(request.query))
                return await self._stakeholders(session, t, account)
        except Refused as refused:
            return _render("message.html", t, refused.status, text=t(refused.key))

    async def _plan(
        self,
        session: AsyncSession,
        t: Texts,
        account: Account,
        person: Person,
        *,
        notice: str = "",
        notice_kind: str = "done",
        yours: PlanContent | None = None,
        status: int = 200,
    ) -> web.Response:
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
            versions=(await plan_versions(session, account.id))[:10],
            reviews=reviews,
            running=any(r.closed_at is None for r in reviews),
            today=dt.date.today().isoformat(),
            review_due=(dt.date.today() + dt.timedelta(days=7)).isoformat(),
            notice=notice,
            notice_kind=notice_kind,
            yours=yours,
        )

    async def save(self, request: web.Request) -> web.Response:
        t = _texts(request)
        try:
            raw = await request.json()
        except ValueError:
            raw = None
        try:
            async with self.services.db.transaction() as session:
                account, person = await self._viewer(session, request)
                if not isinstance(raw, dict) or not isinstance(raw.get("base_version"), int):
                    return _render("message.html", t, 400, text=t("tab.plan.invalid", problems="base_version"))
                try:
                    content = parse_plan({k: v for k, v in raw.items() if k != "base_version"}, account)
                    saved = await save_plan(session, account, person, raw["base_version"], content)
                except InvalidPlan as error:
                    text = t("tab.plan.invalid", problems="; ".join(error.problems[:5]))
                    return await self._plan(session, t, account, person, notice=text, notice_kind="problem", status=400)
                except NotAllowed:
                    text = t("tab.plan.not_allowed")
                    return await self._plan(session, t, account, person, notice=text, notice_kind="problem", status=403)
                except PlanConflict as conflict:
                    current = conflict.current
                    text = t(
                        "tab.plan.conflict",
                        name=current.saved_by.name,
                        version=current.version,
                        date=current.saved_at.date().isoformat(),
                    )
                    return await self._plan(
                        session, t, account, person, notice=text, notice_kind="problem", yours=content, status=409
                    )
                text = t("tab.plan.saved", version=saved.version)
                return await self._plan(session, t, account, person, notice=text)
        except Refused as refused:
            return _render("message.html", t, refused.status, text=t(refused.key))
        except InvalidReference:
            return _render("message.html", t, 400, text=t("error.invalid_reference"))

    async def start_review(self, request: web.Request) -> web.Response:
        """The KA manager starts a plan review from the Plan tab, as with "review plan" in the channel."""
        t = _texts(request)
        try:
            raw = await request.json()
        except ValueError:
            raw = None
        due = _date(raw.get("due_on")) if isinstance(raw, dict) and isinstance(raw.get("due_on"), str) else None
        try:
            async with self.services.db.transaction() as session:
                account, person = await self._viewer(session, request)
                if due is None or due < dt.date.today():
                    text = t("review.start.past")
                    return await self._plan(session, t, account, person, notice=text, notice_kind="problem", status=400)
                try:
                    await start_review(session, self.services.rules, account, person, due)
                except (NotAllowed, ReviewRunning, NothingToReview) as error:
                    status = 403 if isinstance(error, NotAllowed) else 409
                    text = t(error.code)
                    return await self._plan(
                        session, t, account, person, notice=text, notice_kind="problem", status=status
                    )
            self.services.messenger.kick()
            async with self.services.db.transaction() as session:
                return await self._plan(session, t, account, person, notice=t("tab.plan.review_started"))
        except Refused as refused:
            return _render("message.html", t, refused.status, text=t(refused.key))

    async def _rows(
        self, session: AsyncSession, t: Texts, account: Account, filters: LogFilters
    ) -> list[dict[str, Any]]:
        rows: list[LogRow] = await filtered_log(session, account.id, filters)
        shown = []
        for row in rows:
            # The tab is the channel's: confidential contacts keep their details out, as in the channel.
            line = timeline_item(t, row.item, row.on, hide_confidential=True)
            acks = t("tab.log.ack_count", done=row.acknowledged, total=row.asked) if row.asked else "—"
            shown.append({**line.__dict__, "acks": acks, "waiting": row.waiting})
        return shown

    async def _log(self, session: AsyncSession, t: Texts, account: Account, filters: LogFilters) -> web.Response:
        team = [(m.person.id, m.person.name) for m in account.members]
        rows = await self._rows(session, t, account, filters)
        return _render("log.html", t, account=account, filters=filters, team=team, rows=rows)

    async def export(self, request: web.Request) -> web.Response:
        t = _texts(request)
        try:
            async with self.services.db.transaction() as session:
                account, _ = await self._viewer(session, request)
                rows = await self._rows(session, t, account, log_filters(request.query))
        except Refused as refused:
            return _render("message.html", t, refused.status, text=t(refused.key))
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                t("tab.log.date"),
                t("tab.log.type"),
                t("tab.log.what"),
                t("tab.log.text"),
                t("tab.log.person"),
                t("tab.log.acks"),
            ]
        )
        for row in rows:
            writer.writerow(
                [
                    row["on"].isoformat(),
                    row["label"],
                    _cell(row["headline"]),
                    _cell(row["text"]),
                    _cell(row["by"]),
                    row["acks"],
                ]
            )
        return web.Response(
            body=("\ufeff" + out.getvalue()).encode("utf-8"),
            headers={
                **SECURITY_HEADERS,
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": 'attachment; filename="log.csv"',
            },
        )

    async def _stakeholders(self, session: AsyncSession, t: Texts, account: Account) -> web.Response:
        picture = await relationship_picture(session, account, dt.date.today())
        levels: dict[str, list[Any]] = {}
        for coverage in picture.coverage:
            level = coverage.stakeholder.level
            levels.setdefault(t(f"level.{level.value}") if level else t("tab.st.no_level"), []).append(coverage)
        return _render(
            "stakeholders.html",
            t,
            account=account,
            model_text=t(f"model.{picture.model.replace(':', '_')}"),
            levels=list(levels.items()),
        )


def _cell(text: str) -> str:
    """Spreadsheets run cells that start with these as formulas: keep user text text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
