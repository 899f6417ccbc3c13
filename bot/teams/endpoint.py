"""/api/messages: an activity from Teams, checked at the edge, authenticated, and handed to the bot.

The one door in from the Bot Framework; `BotConnector` (connector.py) is the one door out.
"""

from __future__ import annotations

import logging

import jwt
from aiohttp import web
from botbuilder.core import serializer_helper
from botbuilder.schema import Activity
from msrest.exceptions import DeserializationError

from bot.services import Services
from bot.settings import Settings
from bot.teams.adapter import build_adapter
from bot.teams.connector import BotConnector
from bot.teams.envelope import NotAnActivity, read_activity
from bot.teams.handler import KamBot

log = logging.getLogger(__name__)


def _bad_request(reason: str) -> web.Response:
    return web.json_response({"error": {"code": "BadRequest", "message": reason}}, status=400)


class TeamsEndpoint:
    """The adapter (JWT in, authenticated calls out) and the activity handler, built once."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._adapter = build_adapter(settings)
        self._bot: KamBot | None = None
        self.connector = BotConnector(self._adapter, settings.app_id)

    def serve(self, services: Services) -> None:
        self._bot = KamBot(services)

    async def messages(self, request: web.Request) -> web.StreamResponse:
        """Validate the envelope here so that garbage gets a 400, not a stack trace."""
        assert self._bot is not None, "serve() hands the endpoint its services first"
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if not self._settings.local_mode and (scheme != "Bearer" or not token.strip()):
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response({"error": {"code": "UnsupportedMediaType"}}, status=415)
        try:
            body = read_activity(await request.read())
        except NotAnActivity as refused:
            return _bad_request(str(refused))
        try:
            activity = Activity().deserialize(body)
        except (DeserializationError, TypeError, ValueError, AttributeError):
            return _bad_request("The activity could not be read.")
        try:
            # The activity read once, here: botbuilder's own `process` would parse the body again.
            answer = await self._adapter.process_activity(
                request.headers.get("Authorization", ""), activity, self._bot.on_turn
            )
        except (jwt.PyJWTError, PermissionError) as error:
            # botbuilder lets the JWT library's verdicts escape as plain exceptions.
            log.info("rejected a request with an invalid token: %s", error)
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        if answer is None:
            return web.Response(status=201)
        body = (
            answer.body if isinstance(answer.body, dict) else serializer_helper(answer.body)
        )  # models, not plain data
        return web.json_response(body, status=answer.status)
