"""A Bot Connector fake: a real aiohttp server on loopback that behaves like the service.

It records every activity the bot sends, answers with the shapes the Bot
Connector uses, can insist on a bearer token, can enforce a per-conversation
rate limit (429 + Retry-After) and can be told to fail the next requests.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.fakes.loopback import serve_on_loopback

# Teams refuses a bot message over 100 KB "encoded as UTF-16" (Microsoft, "Format your bot messages") with
# 413 MessageSizeTooBig. Counted here: the activity as received, written back as compact JSON (its characters
# and JSON's own escapes, not the \u escapes a client may put on the wire), two bytes per UTF-16 code unit.
MESSAGE_SIZE_LIMIT = 100 * 1024


def utf16_size(activity: Any) -> int:
    """How many bytes `activity` takes as compact JSON in UTF-16: what the fake holds against the limit."""
    return len(json.dumps(activity, ensure_ascii=False, separators=(",", ":")).encode("utf-16-le"))


@dataclass
class Recorded:
    method: str
    conversation_id: str
    activity: dict[str, Any]
    activity_id: str
    authorization: str | None

    @property
    def cards(self) -> list[dict[str, Any]]:
        return [
            a["content"]
            for a in self.activity.get("attachments") or []
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
        ]


@dataclass
class Fault:
    status: int
    retry_after: float | None = None
    conversation: str | None = None  # only requests to this conversation (a channel's threads included) meet it


@dataclass
class ConnectorFake:
    require_token: Callable[[str], bool] | None = None
    per_conversation_rps: float | None = None
    # (requests, seconds): the Bot Connector's limit per tenant, e.g. (50, 1.0); more are answered 429.
    per_tenant_limit: tuple[int, float] | None = None
    recorded: list[Recorded] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    _tenant_sends: list[float] = field(default_factory=list)
    chats: dict[str, str] = field(default_factory=dict)  # user id -> the 1:1 chat the bot opened
    requests_seen: int = 0
    throttled: int = 0
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _last_by_conversation: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""
    _runner: web.AppRunner | None = None
    _stalled_until: float = 0.0
    stalled: int = 0  # requests that had to wait out a stall
    message_size_limit: int = MESSAGE_SIZE_LIMIT  # sends, replies and updates above it are refused with 413
    too_large: int = 0  # messages so refused

    def stall(self, seconds: float) -> None:
        """Hold every request that arrives in the next `seconds` until they are over (a slow Bot Connector)."""
        self._stalled_until = time.monotonic() + seconds

    async def _wait_out_stall(self) -> None:
        wait = self._stalled_until - time.monotonic()
        if wait > 0:
            self.stalled += 1
            await asyncio.sleep(wait)

    def fail_next(
        self, status: int, times: int = 1, retry_after: float | None = None, conversation: str | None = None
    ) -> None:
        self.faults.extend(Fault(status, retry_after, conversation) for _ in range(times))

    def in_conversation(self, conversation_id: str) -> list[Recorded]:
        """Everything sent to a conversation, a channel's threads (';messageid=...') included."""
        return [r for r in self.recorded if r.conversation_id.split(";")[0] == conversation_id]

    async def wait_for(self, predicate: Callable[[ConnectorFake], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the connector fake did not see what was expected")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    def _error(self, status: int, code: str, message: str, retry_after: float | None = None) -> web.Response:
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)

    def _gate(self, request: web.Request, conversation_id: str) -> web.Response | None:
        self.requests_seen += 1
        if self.require_token is not None:
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer ") or not self.require_token(header[7:]):
                return self._error(401, "Unauthorized", "Authorization has been denied for this request.")
        fault = next((f for f in self.faults if f.conversation in (None, conversation_id.split(";")[0])), None)
        if fault is not None:
            self.faults.remove(fault)
            if fault.status == 429:
                self.throttled += 1
            return self._error(fault.status, "ServiceError", "Injected failure", fault.retry_after)
        if self.per_tenant_limit and conversation_id:
            count, window = self.per_tenant_limit
            now = time.monotonic()
            recent = [t for t in self._tenant_sends if now - t < window]
            self._tenant_sends[:] = recent
            if len(recent) >= count:
                self.throttled += 1
                return self._error(429, "TooManyRequests", "Too many requests", round(window - (now - recent[0]), 3))
            self._tenant_sends.append(now)
        if self.per_conversation_rps:
            now = time.monotonic()
            gap = 1.0 / self.per_conversation_rps
            wait = self._last_by_conversation[conversation_id] + gap - now
            if wait > 0:
                self.throttled += 1
                return self._error(429, "TooManyRequests", "Too many requests", round(wait, 3))
            self._last_by_conversation[conversation_id] = now
        return None

    async def _record(self, request: web.Request, method: str, activity_id: str | None = None) -> web.Response:
        conversation_id = request.match_info["conversation_id"]
        await self._wait_out_stall()
        refused = self._gate(request, conversation_id)
        if refused is not None:
            return refused
        try:
            activity = await request.json()
        except ValueError:
            return self._error(400, "BadArgument", "The body is not JSON.")
        if utf16_size(activity) > self.message_size_limit:
            self.too_large += 1
            return self._error(413, "MessageSizeTooBig", "Message size too large.")
        new_id = activity_id or f"activity-{next(self._ids)}"
        self.recorded.append(Recorded(method, conversation_id, activity, new_id, request.headers.get("Authorization")))
        self._changed.set()
        return web.json_response({"id": new_id})

    async def _send(self, request: web.Request) -> web.Response:
        return await self._record(request, "send")

    async def _reply(self, request: web.Request) -> web.Response:
        return await self._record(request, "reply")

    async def _update(self, request: web.Request) -> web.Response:
        activity_id = request.match_info["activity_id"]
        if not any(r.activity_id == activity_id for r in self.recorded):
            return self._error(404, "ActivityNotFound", "The activity does not exist.")
        return await self._record(request, "update", activity_id)

    async def _create_conversation(self, request: web.Request) -> web.Response:
        """Teams keeps one 1:1 chat per user and bot: asking again answers with the same id."""
        await self._wait_out_stall()
        refused = self._gate(request, "")
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except ValueError:
            return self._error(400, "BadArgument", "The body is not JSON.")
        members = [m.get("id") for m in body.get("members") or [] if isinstance(m, dict) and m.get("id")]
        if body.get("isGroup") or len(members) != 1 or not (body.get("tenantId") or body.get("channelData")):
            return self._error(400, "BadArgument", "A 1:1 chat needs exactly one member and the tenant.")
        conversation_id = self.chats.get(members[0]) or f"a:chat-{members[0]}-{next(self._ids)}"
        self.chats[members[0]] = conversation_id
        return web.json_response({"id": conversation_id, "serviceUrl": self.url}, status=201)

    async def start(self) -> ConnectorFake:
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create_conversation)
        app.router.add_post("/v3/conversations/{conversation_id}/activities", self._send)
        app.router.add_post("/v3/conversations/{conversation_id}/activities/{activity_id}", self._reply)
        app.router.add_put("/v3/conversations/{conversation_id}/activities/{activity_id}", self._update)
        self._runner, port = await serve_on_loopback(app)
        self.url = f"http://127.0.0.1:{port}/"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
