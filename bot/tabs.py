"""The channel tabs' pages (Plan, Log, Stakeholders). For now each says what will appear there."""

from __future__ import annotations

from html import escape

from aiohttp import web

from bot.services import Services
from cards.i18n import Texts
from kam.accounts import get_account
from kam.errors import AccountNotFound

KINDS = ("plan", "log", "stakeholders")
PAGE = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:"Segoe UI",system-ui,sans-serif;margin:1.5rem;color:#242424;background:#fff}}
@media (prefers-color-scheme: dark){{body{{color:#fff;background:#1f1f1f}}}}h1{{font-size:1.4rem}}</style>
</head><body><main><h1>{title}</h1><p>{body}</p></main></body></html>"""


def tab_page(services: Services) -> web.Handler:
    async def page(request: web.Request) -> web.Response:
        t = Texts(request.query.get("locale") or request.headers.get("Accept-Language", "").split(",")[0])
        kind = request.match_info["kind"]
        raw_id = request.query.get("account", "")
        if kind not in KINDS or not raw_id.isdigit() or len(raw_id) > 9:
            raise web.HTTPNotFound(text=t("tab.not_found"))
        try:
            async with services.db.transaction() as session:
                account = await get_account(session, int(raw_id))
                name = account.name
        except AccountNotFound:
            raise web.HTTPNotFound(text=t("tab.not_found")) from None
        html = PAGE.format(
            lang=t.language,
            title=escape(t(f"tab.{kind}.title", account=name)),
            body=escape(t(f"tab.{kind}.coming")),
        )
        return web.Response(text=html, content_type="text/html")

    return page
