"""A Bot Connector fake: a real aiohttp server on loopback that behaves like the service.

It records every activity the bot sends, answers with the shapes the Bot
Connector uses, can insist on a bearer token, enforces the service's rate
limits (429 + Retry-After) and can be told to fail the next requests.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from tests.support.fakes.loopback import LoopbackServer

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


class Directory(Protocol):
    """The tenant as Teams knows it (the Graph fake): where the bot may post, whom it may open a chat with."""

    def post_refusal(self, conversation_id: str) -> tuple[int, str, str] | None: ...

    def chat_refusal(self, member_id: str) -> tuple[int, str, str] | None: ...


def _demo_tenant() -> Directory:
    from tests.support.fakes.graph import demo_tenant

    return demo_tenant()


Windows = tuple[tuple[int, float], ...]  # (requests, seconds): at most so many in any window that long
# Microsoft's rate limits for bots: per app and tenant, and per thread for sending to a conversation and for
# creating one ("Optimize your bot with rate limiting and best practices in Teams").
TENANT_WINDOWS: Windows = ((50, 1.0),)
THREAD_WINDOWS: Windows = ((7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0))


@dataclass
class ConnectorFake(LoopbackServer):
    require_token: Callable[[str], bool] | None = None
    # Who is where: posts to channels the bot is not in, and 1:1 chats with people it cannot reach, are refused.
    directory: Directory = field(default_factory=_demo_tenant)
    tenant_windows: Windows = TENANT_WINDOWS
    thread_windows: Windows = THREAD_WINDOWS
    recorded: list[Recorded] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    _arrivals: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    chats: dict[str, str] = field(default_factory=dict)  # user id -> the 1:1 chat the bot opened
    requests_seen: int = 0
    throttled: int = 0
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""
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

    def _gate(self, request: web.Request, thread: str, tenant: str) -> web.Response | None:
        self.requests_seen += 1
        if self.require_token is not None:
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer ") or not self.require_token(header[7:]):
                return self._error(401, "Unauthorized", "Authorization has been denied for this request.")
        fault = next((f for f in self.faults if f.conversation in (None, thread.split(";")[0])), None)
        if fault is not None:
            self.faults.remove(fault)
            if fault.status == 429:
                self.throttled += 1
            return self._error(fault.status, "ServiceError", "Injected failure", fault.retry_after)
        now = time.monotonic()
        counted = ((f"tenant:{tenant}", self.tenant_windows), (f"thread:{thread}", self.thread_windows))
        wait = max(self._wait(self._arrivals[key], windows, now) for key, windows in counted)
        if wait > 0:
            self.throttled += 1
            return self._error(429, "Throttled", "Too many requests.", round(wait, 3))
        for key, _ in counted:
            self._arrivals[key].append(now)
        return None

    @staticmethod
    def _wait(arrivals: deque[float], windows: Windows, now: float) -> float:
        """0 when one more request fits every window; else how long until it would."""
        longest = max((seconds for _, seconds in windows), default=0.0)
        while arrivals and now - arrivals[0] >= longest:
            arrivals.popleft()
        wait = 0.0
        for limit, seconds in windows:
            inside = [at for at in arrivals if now - at < seconds]
            if len(inside) >= limit:
                wait = max(wait, seconds - (now - inside[len(inside) - limit]))
        return wait

    @staticmethod
    def _tenant_of(body: object) -> str:
        if not isinstance(body, dict):
            return ""
        conversation = body.get("conversation") if isinstance(body.get("conversation"), dict) else {}
        return str(body.get("tenantId") or (conversation or {}).get("tenantId") or "")

    async def _record(self, request: web.Request, method: str, activity_id: str | None = None) -> web.Response:
        conversation_id = request.match_info["conversation_id"]
        await self._wait_out_stall()
        try:
            activity = await request.json()
        except ValueError:
            activity = None
        refused = self._gate(request, conversation_id, self._tenant_of(activity))
        if refused is not None:
            return refused
        if not isinstance(activity, dict):
            return self._error(400, "BadArgument", "The body is not a JSON activity.")
        not_there = self.directory.post_refusal(conversation_id)
        if not_there is not None:
            return self._error(*not_there)
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
        try:
            body = await request.json()
        except ValueError:
            body = None
        listed = body.get("members") if isinstance(body, dict) else None
        members = [m.get("id") for m in listed or [] if isinstance(m, dict) and m.get("id")]
        refused = self._gate(request, f"create:{members[0] if members else ''}", self._tenant_of(body))
        if refused is not None:
            return refused
        if not isinstance(body, dict):
            return self._error(400, "BadArgument", "The body is not JSON.")
        if body.get("isGroup") or len(members) != 1 or not (body.get("tenantId") or body.get("channelData")):
            return self._error(400, "BadArgument", "A 1:1 chat needs exactly one member and the tenant.")
        unreachable = self.directory.chat_refusal(str(members[0]))
        if unreachable is not None:
            return self._error(*unreachable)
        conversation_id = self.chats.get(members[0]) or f"a:chat-{members[0]}-{next(self._ids)}"
        self.chats[members[0]] = conversation_id
        return web.json_response({"id": conversation_id, "serviceUrl": self.url}, status=201)

    async def start(self) -> ConnectorFake:
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create_conversation)
        app.router.add_post("/v3/conversations/{conversation_id}/activities", self._send)
        app.router.add_post("/v3/conversations/{conversation_id}/activities/{activity_id}", self._reply)
        app.router.add_put("/v3/conversations/{conversation_id}/activities/{activity_id}", self._update)
        self.url = await self._listen(app) + "/"
        return self
