"""A Microsoft Graph fake: the subset kambot uses, with Graph's shapes, limits and errors.

Real aiohttp server on loopback. It enforces the documented throttling (at most
4 requests per second per app on one team or one channel, 30 writes per second
per tenant) by answering 429 with Retry-After, keeps a team's channel limit,
checks Teams' channel name rules, and can be told to fail requests (503, 504,
timeouts, name conflicts). Every request is recorded for the tests.

It is also the tenant as Teams knows it: who is in which team, which channels are
standard, private or shared and who their members are, and where kambot is installed
or enabled. The Bot Connector fake asks it (as `Directory`) whether the bot may post
in a channel and whom it may open a 1:1 chat with, and refuses the way Teams does.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import io
import itertools
import json
import math
import re
import time
import uuid
import zipfile
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
from aiohttp import web

from tests.support.fakes.loopback import LoopbackServer

if TYPE_CHECKING:
    from tests.support.fakes.connector import ConnectorFake

ALL_PERMISSIONS_TOKEN = "graph-test-token"
ANY_ROLE = "*"
TOKEN_KEY = "graph-fake-signing-key-of-32-bytes!"
# Application permissions that let an app-only token call a route (Graph's documented least-privileged and broader).
# A route's permissions: application permissions (in the token's roles) or resource-specific consent (RSC,
# granted per team when the app is installed there; Graph checks the team's grants, not the token).
ROUTE_PERMISSIONS = {
    "/v1.0/users/{user}": {"User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All"},
    "/v1.0/users/{user}/calendarView": {"Calendars.ReadBasic.All", "Calendars.Read", "Calendars.ReadWrite"},
    ("GET", "/v1.0/teams/{team}/members"): {"TeamMember.Read.Group", "TeamMember.Read.All", "TeamMember.ReadWrite.All"},
    ("POST", "/v1.0/teams/{team}/members"): {"TeamMember.ReadWriteNonOwnerRole.All", "TeamMember.ReadWrite.All"},
    ("GET", "/v1.0/teams/{team}/channels/{channel}/members"): {
        "ChannelMember.Read.Group",
        "ChannelMember.ReadWrite.Group",
        "ChannelMember.Read.All",
        "ChannelMember.ReadWrite.All",
    },
    ("POST", "/v1.0/teams/{team}/channels/{channel}/members"): {
        "ChannelMember.ReadWrite.Group",
        "ChannelMember.ReadWrite.All",
    },
    ("DELETE", "/v1.0/teams/{team}/channels/{channel}/members/{membership}"): {
        "ChannelMember.ReadWrite.Group",
        "ChannelMember.ReadWrite.All",
    },
    ("POST", "/v1.0/teams/{team}/channels/{channel}/enabledApps/$ref"): {
        "TeamsAppInstallation.ManageSelectedForTeam.All",
        "TeamsAppInstallation.ReadWriteForTeam.All",
    },
    ("GET", "/v1.0/teams/{team}/channels/{channel}/enabledApps"): {
        "TeamsAppInstallation.ManageSelectedForTeam.All",
        "TeamsAppInstallation.ReadWriteForTeam.All",
        "TeamsAppInstallation.ReadForTeam.All",
        "TeamsAppInstallation.Read.Group",
    },
}
# What a team grants kambot when it is installed there: the RSC permissions its manifest asks for.
KAMBOT_RSC = frozenset(
    {
        "ChannelSettings.ReadWrite.Group",
        "Channel.Create.Group",
        "TeamsTab.Read.Group",
        "TeamsTab.Create.Group",
        "TeamsAppInstallation.Read.Group",
        "TeamMember.Read.Group",
        "ChannelMember.ReadWrite.Group",
        "TeamsActivity.Send.Group",
    }
)
# Routes whose handlers weigh the team's grant against an application permission themselves (`_allows`).
OWN_CHECKS = {"/v1.0/teams/{team}/sendActivityNotification", "/v1.0/teams/{team}/permissionGrants"}
NOT_IN_ROSTER = (403, "BotNotInConversationRoster", "The bot is not part of the conversation roster.")
NOT_INSTALLED = (403, "ForbiddenOperationException", "Bot is not installed in user's personal scope")

FORBIDDEN = re.compile(r"[#%&*{}/\\:<>?+|'\"]")
WRITES = {"POST", "PATCH", "PUT", "DELETE"}


@dataclass
class Channel:
    id: str
    name: str
    membership: str = "standard"  # "private" or "shared" have members of their own
    description: str = ""
    archived: bool = False
    members: dict[str, list[str]] = field(default_factory=dict)  # user id -> roles ("owner")
    tabs: list[dict[str, Any]] = field(default_factory=list)
    enabled_apps: list[str] = field(default_factory=list)  # apps added to a shared channel (not inherited)
    shown_from: float = 0.0  # monotonic: a shared channel is made in the background, and listed once it is

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "displayName": self.name,
            "description": self.description,
            "membershipType": self.membership,
            "isArchived": self.archived,
        }


@dataclass
class Team:
    id: str
    channels: dict[str, Channel] = field(default_factory=dict)
    installed_apps: list[str] = field(default_factory=list)
    deleted_channels: int = 0
    members: dict[str, list[str]] = field(default_factory=dict)  # user id -> roles ("owner")
    rsc: set[str] = field(default_factory=lambda: set(KAMBOT_RSC))  # what kambot's installation was granted


@dataclass
class Call:
    method: str
    path: str
    status: int
    at: float
    resource: str
    app: str | None = None  # the client id of the app the token was issued to (its `appid`), when it names one


@dataclass
class Fault:
    status: int | str  # an HTTP status, or "timeout" / "conflict"
    method: str | None = None
    path_contains: str = ""


class GraphFake(LoopbackServer):
    def __init__(
        self,
        *,
        per_resource_rps: float = 4.0,
        tenant_writes_rps: float = 30.0,
        feed_per_tenant_rps: float = 5.0,
        max_channels: int = 1000,
        page_size: int = 100,
        enforce_limits: bool = True,
        bot_app_id: str = "kambot-app-catalog-id",
    ) -> None:
        self.per_resource_rps = per_resource_rps
        self.tenant_writes_rps = tenant_writes_rps
        self.feed_per_tenant_rps = feed_per_tenant_rps  # sendActivityNotification, per app and tenant
        self.max_channels = max_channels
        self.page_size = page_size
        self.enforce_limits = enforce_limits
        self.bot_app_id = bot_app_id  # kambot's id in the app catalog: where it is installed, the bot is
        self.teams: dict[str, Team] = {}
        self.users: dict[str, dict[str, str]] = {}
        self.personal_installs: set[str] = set()  # users who added kambot for themselves
        self.operations: dict[str, dict[str, Any]] = {}  # teamsAsyncOperation by id
        self.shared_channel_seconds = 0.0  # how long making a shared channel takes (202, then it shows)
        # Outlook calendars by user (Entra object id): Graph event objects. Users not here have no mailbox.
        self.calendars: dict[str, list[dict[str, Any]]] = {}
        self.calendar_denied: set[str] = set()  # excluded by the tenant's application access policy
        # Teams kambot has no access to (not installed there, so no resource-specific consent).
        self.locked_teams: set[str] = set()
        self.catalog: dict[str, dict[str, Any]] = {}  # the tenant's app catalog: teamsApp id -> teamsApp
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.timeout_seconds = 30.0
        self._ids = itertools.count(1)
        self._resource_hits: dict[str, deque[float]] = defaultdict(deque)
        self._write_hits: deque[float] = deque()
        self.url = ""
        # Activity feed notifications: the Entra app of kambot's Teams app (its webApplicationInfo id, whom the
        # teams' RSC grants name), the activity types its manifest declares, and what was sent.
        self.entra_app_id = KAMBOT_ENTRA_APP_ID
        self.activity_types = declared_activity_types()
        self.notifications: list[SentNotification] = []
        self._feed_hits: deque[float] = deque()
        self._feed_hits_per_user: dict[str, deque[float]] = defaultdict(deque)

    # --- set-up helpers for tests -------------------------------------------------
    def add_team(self, team_id: str, channels: int = 0, general_id: str | None = None) -> Team:
        team = Team(team_id)
        team.channels["general"] = Channel(general_id or f"19:general-{team_id}@thread.tacv2", "General")
        for i in range(channels):
            channel = Channel(f"19:pre-{team_id}-{i}@thread.tacv2", f"Existing {i}")
            team.channels[channel.id] = channel
        self.teams[team_id] = team
        return team

    def add_user(self, upn: str, name: str | None = None, user_id: str | None = None, teams_id: str = "") -> str:
        """A user of the tenant; `teams_id` is their id in the Bot Framework (29:...), by default made up."""
        user_id = user_id or str(uuid.uuid5(uuid.NAMESPACE_DNS, upn.lower()))
        self.users[upn.lower()] = {
            "id": user_id,
            "displayName": name or upn.split("@")[0],
            "userPrincipalName": upn,
            "teamsId": teams_id or f"29:{user_id}",
        }
        return user_id

    def add_members(self, team_id: str, *upns: str) -> None:
        """Users (added first) as members of a team."""
        for upn in upns:
            self.teams[team_id].members[self.user_id(upn)] = []

    def user_id(self, upn: str) -> str:
        return self.users[upn.lower()]["id"]

    def _user_by_id(self, user_id: str) -> dict[str, str] | None:
        return next((u for u in self.users.values() if user_id in (u["id"], u["teamsId"])), None)

    def _channel_anywhere(self, channel_id: str) -> tuple[Team, Channel] | None:
        for team in self.teams.values():
            for channel in team.channels.values():
                if channel.id == channel_id:
                    return team, channel
        return None

    # --- the directory the Bot Connector fake asks ----------------------------------
    def post_refusal(self, conversation_id: str) -> tuple[int, str, str] | None:
        """How Teams answers the bot posting to a conversation: channels it is not in refuse it."""
        found = self._channel_anywhere(conversation_id.split(";")[0])
        if found is None:
            return None  # a chat, or a conversation this tenant does not describe
        team, channel = found
        if self.bot_app_id not in team.installed_apps or channel.membership == "private":
            return NOT_IN_ROSTER
        if channel.membership == "shared" and self.bot_app_id not in channel.enabled_apps:
            return NOT_IN_ROSTER
        return None

    def chat_refusal(self, member_id: str) -> tuple[int, str, str] | None:
        """Teams opens a 1:1 chat only with someone who installed the app or is in a team that has it."""
        user = self._user_by_id(member_id)
        if user is not None and (
            user["id"] in self.personal_installs
            or any(user["id"] in t.members and self.bot_app_id in t.installed_apps for t in self.teams.values())
        ):
            return None
        return NOT_INSTALLED

    def add_meeting(
        self,
        calendars: list[str],
        subject: str,
        start: dt.datetime,
        end: dt.datetime,
        attendees: list[tuple[str, str]],
        *,
        cancelled: bool = False,
    ) -> str:
        """One meeting, in the calendar of each of `calendars` (same iCalUId, each its own event id)."""
        key = "040000008200E00074C5B7101A82E008" + uuid.uuid4().hex.upper()
        for user_id in calendars:
            self.calendars.setdefault(user_id, []).append(
                {
                    "id": "AAMk" + uuid.uuid4().hex,
                    "iCalUId": key,
                    "subject": subject,
                    "isCancelled": cancelled,
                    "start": start,
                    "end": end,
                    "bodyPreview": "Confidential agenda: not for Calendars.ReadBasic",
                    "attendees": [
                        {
                            "type": "required",
                            "status": {"response": "accepted", "time": "0001-01-01T00:00:00Z"},
                            "emailAddress": {"name": name, "address": address},
                        }
                        for name, address in attendees
                    ],
                }
            )
        return key

    def fail(self, status: int | str, *, times: int = 1, method: str | None = None, path_contains: str = "") -> None:
        self.faults.extend(Fault(status, method, path_contains) for _ in range(times))

    def writes(self) -> list[Call]:
        return [c for c in self.calls if c.method in WRITES]

    def throttled(self) -> int:
        return sum(1 for c in self.calls if c.status == 429)

    def bound_seconds(self) -> float:
        """The least time the documented limits allow for the recorded requests."""
        per_resource: dict[str, int] = defaultdict(int)
        for call in self.calls:
            if call.resource != "tenant":
                per_resource[call.resource] += 1
        busiest = max(per_resource.values(), default=0) / self.per_resource_rps
        return max(busiest, len(self.writes()) / self.tenant_writes_rps)

    def channels_named(self, name: str) -> list[Channel]:
        return [c for t in self.teams.values() for c in t.channels.values() if c.name.lower() == name.lower()]

    # --- Graph behaviour -----------------------------------------------------------
    @staticmethod
    def error(status: int, code: str, message: str, retry_after: int | None = None) -> web.Response:
        body = {
            "error": {
                "code": code,
                "message": message,
                "innerError": {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "request-id": str(uuid.uuid4())},
            }
        }
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return web.json_response(body, status=status, headers=headers)

    def _throttle(self, method: str, resource: str) -> web.Response | None:
        if not self.enforce_limits:
            return None
        now = time.monotonic()
        windows = [(self._resource_hits[resource], self.per_resource_rps)]
        if method in WRITES:
            windows.append((self._write_hits, self.tenant_writes_rps))
        for hits, rps in windows:
            while hits and now - hits[0] >= 1.0:
                hits.popleft()
            if len(hits) >= rps:
                wait = max(1, math.ceil(1.0 - (now - hits[0])))
                return self.error(429, "TooManyRequests", "Too many requests.", retry_after=wait)
        for hits, _ in windows:
            hits.append(now)
        return None

    @staticmethod
    def _claims(authorization: str) -> dict[str, Any] | None:
        """The claims of the request's token: None for a bad token, every role for the test token."""
        token = authorization.removeprefix("Bearer ")
        if token == ALL_PERMISSIONS_TOKEN:
            return {"roles": [ANY_ROLE]}
        try:
            return dict(jwt.decode(token, TOKEN_KEY, algorithms=["HS256"], audience="https://graph.microsoft.com"))
        except jwt.PyJWTError:
            return None

    def _roles(self, authorization: str) -> set[str] | None:
        """The application permissions of the request's token: None for a bad token, ANY_ROLE for the test token."""
        claims = self._claims(authorization)
        return None if claims is None else set(claims.get("roles") or [])

    def _holds_team_grants(self, request: web.Request) -> bool:
        """Whether the caller is the app the teams' resource-specific grants name (the package's webApplicationInfo
        app): Graph honours them for no other. A token that names no app stands for that app."""
        app = (self._claims(request.headers.get("Authorization", "")) or {}).get("appid")
        return app is None or app == self.entra_app_id

    def _denied(self, request: web.Request, roles: set[str]) -> web.Response | None:
        """Graph's 403 when the token lacks the permission a route needs, or the app has no access to the team."""
        team_id = request.match_info.get("team")
        if team_id is not None and team_id in self.locked_teams:
            return self.error(403, "Forbidden", "Missing role permissions on the request. API requires one of ...")
        resource = request.match_info.route.resource
        canonical = resource.canonical if resource is not None else ""
        needs = ROUTE_PERMISSIONS.get((request.method, canonical)) or ROUTE_PERMISSIONS.get(canonical)
        team = self.teams.get(team_id or "")
        grants = self._holds_team_grants(request)
        if needs and team is not None and self.bot_app_id in team.installed_apps and team.rsc & needs and grants:
            return None
        if request.method == "POST" and request.path.startswith("/v1.0/appCatalogs/") and ANY_ROLE not in roles:
            # Publishing to the app catalog takes a signed-in admin: Graph supports no application permission for it.
            return self.error(403, "Forbidden", "Application permissions are not supported for this operation.")
        if needs and ANY_ROLE not in roles and not roles & needs:
            return self.error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        if team_id is not None and not grants and ANY_ROLE not in roles and not needs and canonical not in OWN_CHECKS:
            # Another app than the one the team granted: none of the team's resource-specific consent is its.
            return self.error(403, "Forbidden", "Missing role permissions on the request. API requires one of ...")
        return None

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        roles = self._roles(request.headers.get("Authorization", ""))
        if roles is None:
            response: web.StreamResponse = self.error(401, "InvalidAuthenticationToken", "Access token is empty.")
        else:
            response = self._denied(request, roles) or await self._handle(request, handler)
        app = (self._claims(request.headers.get("Authorization", "")) or {}).get("appid")
        self.calls.append(
            Call(request.method, request.path, response.status, time.monotonic(), self._resource(request), app)
        )
        return response

    @staticmethod
    def _resource(request: web.Request) -> str:
        """What Graph's per-team, per-channel and per-mailbox limits count against."""
        team_id = request.match_info.get("team")
        channel_id = request.match_info.get("channel")
        if request.path.endswith("/calendarView"):
            return f"mailbox:{request.match_info.get('user')}"
        return f"channel:{channel_id}" if channel_id else f"team:{team_id}" if team_id else "tenant"

    async def _handle(self, request: web.Request, handler: Any) -> web.StreamResponse:
        team_id = request.match_info.get("team")
        resource = self._resource(request)
        for fault in list(self.faults):
            if (fault.method is None or fault.method == request.method) and fault.path_contains in request.path:
                self.faults.remove(fault)
                if fault.status == "timeout":
                    # Graph did the work, but the answer comes too late for the client.
                    response = await handler(request)
                    await asyncio.sleep(self.timeout_seconds)
                    return response
                if fault.status == "conflict":
                    return self.error(409, "NameAlreadyExists", "Channel name already existed, please use other name.")
                return self.error(int(fault.status), "ServiceUnavailable", "Injected failure.", retry_after=1)
        refused = self._throttle(request.method, resource)
        if refused is not None:
            return refused
        if team_id is not None and team_id not in self.teams:
            return self.error(404, "NotFound", f"No team found with Group Id {team_id}.")
        return await handler(request)

    def _team(self, request: web.Request) -> Team:
        return self.teams[request.match_info["team"]]

    def _channel(self, request: web.Request) -> Channel | None:
        wanted = request.match_info["channel"]
        return next((c for c in self._team(request).channels.values() if c.id == wanted), None)

    def _page(self, request: web.Request, items: list[dict[str, Any]]) -> web.Response:
        skip = int(request.query.get("$skiptoken", "0") or 0)
        body: dict[str, Any] = {"value": items[skip : skip + self.page_size]}
        if skip + self.page_size < len(items):
            body["@odata.nextLink"] = f"{self.url}{request.path}?$skiptoken={skip + self.page_size}"
        return web.json_response(body)

    async def _list_channels(self, request: web.Request) -> web.Response:
        now = time.monotonic()
        return self._page(request, [c.json() for c in self._team(request).channels.values() if c.shown_from <= now])

    async def _create_channel(self, request: web.Request) -> web.Response:
        """Standard and private channels answer 201 with the channel; a shared one 202 and the operation that
        makes it (Content-Location), as Graph does. Private and shared channels start with one owner."""
        team = self._team(request)
        body = await request.json()
        name = str(body.get("displayName", ""))
        if not name or len(name) > 50 or FORBIDDEN.search(name) or name.startswith(("_", ".")) or name.endswith("."):
            return self.error(400, "BadRequest", f"Channel name '{name}' is not valid.")
        if any(c.name.lower() == name.lower() for c in team.channels.values()):
            return self.error(409, "NameAlreadyExists", "Channel name already existed, please use other name.")
        if len(team.channels) + team.deleted_channels >= self.max_channels:
            return self.error(400, "BadRequest", "Maximum number of channels reached for this team.")
        membership = body.get("membershipType", "standard")
        members: dict[str, list[str]] = {}
        for member in body.get("members") or []:
            user = self._bound_user(member)
            if user is None:
                return self.error(404, "NotFound", "The user of a member does not exist.")
            members[user["id"]] = [r for r in member.get("roles") or [] if r == "owner"]
        owners = [user_id for user_id, roles in members.items() if roles]
        if membership in ("private", "shared") and not owners:
            needs = f"A {membership} channel created with application permissions needs an owner."
            return self.error(400, "BadRequest", needs)
        if membership == "shared" and (len(owners) > 1 or len(members) > 1):
            return self.error(400, "BadRequest", "A shared channel can be created with only one owner.")
        if membership == "private" and any(user_id not in team.members for user_id in members):
            return self.error(400, "BadRequest", "Only members of the team can be added to its private channel.")
        channel = Channel(f"19:{uuid.uuid4().hex}@thread.tacv2", name, membership, body.get("description", ""))
        channel.members = members
        team.channels[channel.id] = channel
        if membership != "shared":
            return web.json_response(channel.json(), status=201)
        channel.shown_from = time.monotonic() + self.shared_channel_seconds
        operation = str(uuid.uuid4())
        self.operations[operation] = {
            "id": operation,
            "operationType": "createChannel",
            "status": "succeeded" if not self.shared_channel_seconds else "inProgress",
            "targetResourceId": channel.id,
            "targetResourceLocation": f"/teams('{team.id}')/channels('{channel.id}')",
            "attemptsCount": 1,
        }
        location = f"/teams('{team.id}')/operations('{operation}')"
        return web.Response(status=202, headers={"Content-Location": location, "Location": location})

    async def _operation(self, request: web.Request) -> web.Response:
        found = self.operations.get(request.match_info["operation"])
        if found is None:
            return self.error(404, "NotFound", "Operation not found.")
        return web.json_response(found)

    def _bound_user(self, member: object) -> dict[str, str] | None:
        """The user a conversationMember binds (`user@odata.bind`: .../users('id'))."""
        bind = member.get("user@odata.bind", "") if isinstance(member, dict) else ""
        found = re.search(r"users\('([^']+)'\)", str(bind))
        return self._user_by_id(found.group(1)) if found else None

    def _member_json(self, scope: str, user_id: str, roles: list[str]) -> dict[str, Any]:
        user = self._user_by_id(user_id) or {"displayName": "", "userPrincipalName": ""}
        return {
            "@odata.type": "#microsoft.graph.aadUserConversationMember",
            "id": base64.b64encode(f"{scope}#{user_id}".encode()).decode(),
            "roles": roles,
            "displayName": user["displayName"],
            "userId": user_id,
            "email": user["userPrincipalName"],
            "tenantId": "00000000-0000-0000-0000-0000000000001",
        }

    async def _list_team_members(self, request: web.Request) -> web.Response:
        team = self._team(request)
        return self._page(request, [self._member_json(team.id, u, r) for u, r in team.members.items()])

    async def _add_team_member(self, request: web.Request) -> web.Response:
        team = self._team(request)
        body = await request.json()
        user = self._bound_user(body)
        if user is None:
            return self.error(404, "NotFound", "The user to add does not exist.")
        roles = [r for r in body.get("roles") or [] if r == "owner"]
        team.members.setdefault(user["id"], roles)
        return web.json_response(self._member_json(team.id, user["id"], team.members[user["id"]]), status=201)

    def _members_of(self, request: web.Request) -> Channel | web.Response:
        channel = self._channel(request)
        if channel is None:
            return self.error(404, "NotFound", "Channel not found.")
        if channel.membership == "standard":
            return self.error(400, "BadRequest", "The members of a standard channel are the team's.")
        return channel

    async def _list_channel_members(self, request: web.Request) -> web.Response:
        channel = self._members_of(request)
        if isinstance(channel, web.Response):
            return channel
        return self._page(request, [self._member_json(channel.id, u, r) for u, r in channel.members.items()])

    async def _add_channel_member(self, request: web.Request) -> web.Response:
        channel = self._members_of(request)
        if isinstance(channel, web.Response):
            return channel
        body = await request.json()
        user = self._bound_user(body)
        if user is None:
            return self.error(404, "NotFound", "The user to add does not exist or is blocked.")
        if channel.membership == "private" and user["id"] not in self._team(request).members:
            return self.error(400, "BadRequest", "Only members of the team can be added to its private channel.")
        channel.members[user["id"]] = [r for r in body.get("roles") or [] if r == "owner"]
        return web.json_response(self._member_json(channel.id, user["id"], channel.members[user["id"]]), status=201)

    async def _remove_channel_member(self, request: web.Request) -> web.Response:
        channel = self._members_of(request)
        if isinstance(channel, web.Response):
            return channel
        try:
            scope, user_id = base64.b64decode(request.match_info["membership"]).decode().rsplit("#", 1)
        except (ValueError, UnicodeDecodeError):
            return self.error(404, "NotFound", "Membership not found.")
        if scope != channel.id or user_id not in channel.members:
            return self.error(404, "NotFound", "Membership not found.")
        if channel.members[user_id] and sum(1 for roles in channel.members.values() if roles) == 1:
            return self.error(400, "BadRequest", "The last owner of a channel cannot be removed.")
        del channel.members[user_id]
        return web.Response(status=204)

    async def _enable_app(self, request: web.Request) -> web.Response:
        """A shared channel gets an app of its team only when it is added to it (v1.0: shared channels only)."""
        channel = self._channel(request)
        if channel is None:
            return self.error(404, "NotFound", "Channel not found.")
        if channel.membership != "shared":
            return self.error(400, "BadRequest", "Apps can be enabled only in shared channels.")
        app_id = str((await request.json()).get("@odata.id", "")).rsplit("/", 1)[-1].strip("'()")
        if app_id not in self._team(request).installed_apps:
            return self.error(400, "BadRequest", "The app is not installed in the team that hosts the channel.")
        if app_id not in channel.enabled_apps:
            channel.enabled_apps.append(app_id)
        return web.Response(status=204)

    async def _enabled_apps(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel is None:
            return self.error(404, "NotFound", "Channel not found.")
        return self._page(request, [{"id": a} for a in channel.enabled_apps])

    async def _patch_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel is None:
            return self.error(404, "NotFound", "Channel not found.")
        name = (await request.json()).get("displayName")
        if name:
            if FORBIDDEN.search(name) or len(name) > 50:
                return self.error(400, "BadRequest", f"Channel name '{name}' is not valid.")
            channel.name = name
        return web.Response(status=204)

    async def _archive_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel is None:
            return self.error(404, "NotFound", "Channel not found.")
        channel.archived = True
        return web.Response(status=202)

    async def _list_tabs(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel is None:
            return self.error(404, "NotFound", "Channel not found.")
        return self._page(request, channel.tabs)

    async def _add_tab(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel is None:
            return self.error(404, "NotFound", "Channel not found.")
        body = await request.json()
        app_bind = body.get("teamsApp@odata.bind", "")
        config = body.get("configuration") or {}
        if not app_bind or not body.get("displayName") or not config.get("contentUrl", "").startswith("https://"):
            return self.error(
                400, "BadRequest", "A tab needs displayName, teamsApp@odata.bind and an https contentUrl."
            )
        app_id = app_bind.rsplit("/", 1)[-1].strip("'()")
        if app_id not in self._team(request).installed_apps:
            return self.error(400, "BadRequest", "The app of the tab is not installed in the team.")
        if channel.membership == "shared" and app_id not in channel.enabled_apps:
            return self.error(403, "Forbidden", "The app is not enabled in this channel.")
        tab = {
            "id": str(uuid.uuid4()),
            "displayName": body["displayName"],
            "configuration": config,
            "teamsApp": {"id": app_id},
        }
        channel.tabs.append(tab)
        return web.json_response(tab, status=201)

    async def _list_apps(self, request: web.Request) -> web.Response:
        apps = [{"id": f"install-{a}", "teamsApp": {"id": a}} for a in self._team(request).installed_apps]
        return self._page(request, apps)

    async def _install_app(self, request: web.Request) -> web.Response:
        body = await request.json()
        app_id = body.get("teamsApp@odata.bind", "").rsplit("/", 1)[-1].strip("'()")
        team = self._team(request)
        if app_id in team.installed_apps:
            return self.error(409, "Conflict", "The app is already installed.")
        team.installed_apps.append(app_id)
        return web.Response(status=201)

    async def _user(self, request: web.Request) -> web.Response:
        user = self.users.get(request.match_info["user"].lower())
        if user is None:
            return self.error(
                404, "Request_ResourceNotFound", f"Resource '{request.match_info['user']}' does not exist."
            )
        return web.json_response(user)

    async def _calendar_view(self, request: web.Request) -> web.Response:
        """GET /users/{id}/calendarView: events overlapping [startDateTime, endDateTime), paged by $top."""
        user_id = request.match_info["user"]
        try:
            start = _utc(request.query["startDateTime"])
            end = _utc(request.query["endDateTime"])
        except (KeyError, ValueError):
            return self.error(
                400,
                "ErrorInvalidParameter",
                "This request requires a time window specified by the query "
                "string parameters StartDateTime and EndDateTime.",
            )
        if user_id in self.calendar_denied:
            return self.error(
                403,
                "ErrorAccessDenied",
                "Access to OData is disabled: blocked by tenant configured AppOnly AccessPolicy settings.",
            )
        if user_id not in self.calendars:
            return self.error(
                404,
                "MailboxNotEnabledForRESTAPI",
                "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
            )
        utc = 'outlook.timezone="UTC"' in request.headers.get("Prefer", "")
        fields = set(filter(None, request.query.get("$select", "").split(","))) or None
        found = sorted(
            (e for e in self.calendars[user_id] if e["start"] < end and e["end"] > start), key=lambda e: e["start"]
        )
        items = [_event_json(e, fields, utc) for e in found]
        top = min(int(request.query.get("$top", "10")), 1000)
        skip = int(request.query.get("$skip", "0"))
        body: dict[str, Any] = {"value": items[skip : skip + top]}
        if skip + top < len(items):
            query = dict(request.query) | {"$skip": str(skip + top)}
            body["@odata.nextLink"] = str(request.url.with_query(query)).replace(str(request.url.origin()), self.url)
        return web.json_response(body)

    # --- the tenant's app catalog (organization apps) ---------------------------------
    def _uploaded_manifest(self, body: bytes, content_type: str) -> dict[str, Any] | web.Response:
        if content_type != "application/zip":
            return self.error(415, "UnsupportedMediaType", "The app package must be sent as application/zip.")
        try:
            return dict(json.loads(zipfile.ZipFile(io.BytesIO(body)).read("manifest.json")))
        except (zipfile.BadZipFile, KeyError, ValueError):
            return self.error(400, "BadRequest", "The app package is not a zip file with a manifest.json.")

    @staticmethod
    def _definition(app_id: str, manifest: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"{app_id}-{manifest['version']}",
            "teamsAppId": app_id,
            "version": manifest["version"],
            "displayName": manifest["name"]["short"],
            "publishingState": "published",
        }

    async def _list_catalog(self, request: web.Request) -> web.Response:
        wanted = re.fullmatch(r"externalId eq '([^']*)'", request.query.get("$filter", ""))
        apps = [a for a in self.catalog.values() if wanted is None or a["externalId"] == wanted.group(1)]
        expand = "appDefinitions" in request.query.get("$expand", "")
        return self._page(
            request, [a if expand else {k: v for k, v in a.items() if k != "appDefinitions"} for a in apps]
        )

    async def _publish_app(self, request: web.Request) -> web.Response:
        manifest = self._uploaded_manifest(await request.read(), request.content_type)
        if isinstance(manifest, web.Response):
            return manifest
        if any(a["externalId"] == manifest["id"] for a in self.catalog.values()):
            return self.error(409, "Conflict", "An app with the same id already exists in the tenant app catalog.")
        app_id = str(uuid.uuid4())
        self.catalog[app_id] = {
            "id": app_id,
            "externalId": manifest["id"],
            "displayName": manifest["name"]["short"],
            "distributionMethod": "organization",
            "appDefinitions": [self._definition(app_id, manifest)],
        }
        return web.json_response({k: v for k, v in self.catalog[app_id].items() if k != "appDefinitions"}, status=201)

    async def _update_app(self, request: web.Request) -> web.Response:
        app = self.catalog.get(request.match_info["app"])
        if app is None:
            return self.error(404, "NotFound", "No app with this id in the tenant app catalog.")
        manifest = self._uploaded_manifest(await request.read(), request.content_type)
        if isinstance(manifest, web.Response):
            return manifest
        if manifest["id"] != app["externalId"]:
            return self.error(400, "BadRequest", "The manifest id does not match the app being updated.")
        newest = max(tuple(map(int, d["version"].split("."))) for d in app["appDefinitions"])
        if tuple(map(int, manifest["version"].split("."))) <= newest:
            return self.error(409, "Conflict", "The app version must be greater than the current version.")
        app["appDefinitions"].append(self._definition(app["id"], manifest))
        return web.json_response(app["appDefinitions"][-1], status=201)

    # --- activity feed notifications (team: sendActivityNotification) and a team's RSC grants -------------
    def _allows(self, request: web.Request, team: Team, rsc: str, application: set[str]) -> bool:
        """The team's resource-specific grant to the installed app, or an application permission in the token."""
        roles = self._roles(request.headers.get("Authorization", "")) or set()
        granted = self.bot_app_id in team.installed_apps and rsc in team.rsc and self._holds_team_grants(request)
        return granted or ANY_ROLE in roles or bool(roles & application)

    def _notification_problem(self, team: Team, body: object) -> str | None:
        """What Graph would refuse in a notification's body (400), as the API reference describes it."""
        if not isinstance(body, dict):
            return "The request body must be a JSON object."
        topic = body.get("topic")
        if not isinstance(topic, dict) or topic.get("source") not in ("entityUrl", "text") or not topic.get("value"):
            return "topic needs a source ('entityUrl' or 'text') and a value."
        if topic["source"] == "text" and not str(topic.get("webUrl") or "").startswith(TEAMS_LINK):
            return "topic.webUrl is required for a text topic and must be a Teams link."
        entity = re.fullmatch(r"https://graph\.microsoft\.com/(v1\.0|beta)/teams/([^/]+)(/.*)?", str(topic["value"]))
        if topic["source"] == "entityUrl" and (entity is None or entity.group(2) != team.id):
            return "topic.value must be the Microsoft Graph URL of the team or of a resource in it."
        kind = body.get("activityType")
        parameters = body.get("templateParameters") or []
        if not isinstance(parameters, list) or not all(
            isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("value"), str)
            for p in parameters
        ):
            return "templateParameters must be a list of {name, value} strings."
        if kind == "systemDefault" and not any(p["name"] == "systemDefaultText" for p in parameters):
            return "The systemDefault activity type needs the template parameter systemDefaultText."
        if kind != "systemDefault" and kind not in self.activity_types:
            return f"Activity type '{kind}' is not declared in the app manifest."
        recipient = body.get("recipient")
        if not isinstance(recipient, dict) or not str(recipient.get("@odata.type", "")).endswith(
            "aadUserNotificationRecipient"
        ):
            return "recipient must be an aadUserNotificationRecipient."
        if not isinstance(recipient.get("userId"), str) or not recipient["userId"]:
            return "recipient.userId is required."
        preview = body.get("previewText")
        if preview is not None and not (isinstance(preview, dict) and isinstance(preview.get("content"), str)):
            return "previewText must be an itemBody with content."
        return None

    def _feed_throttle(self, user_id: str) -> web.Response | None:
        """5 notifications a second per app and tenant (Graph's Teams limits), 10 a minute per user (best practices)."""
        if not self.enforce_limits:
            return None
        now = time.monotonic()
        windows = (
            (self._feed_hits, self.feed_per_tenant_rps, 1.0),
            (self._feed_hits_per_user[user_id], FEED_PER_USER, 60.0),
        )
        for hits, limit, seconds in windows:
            while hits and now - hits[0] >= seconds:
                hits.popleft()
            if len(hits) >= limit:
                wait = max(1, math.ceil(seconds - (now - hits[0])))
                return self.error(429, "TooManyRequests", "Too many requests.", retry_after=wait)
        for hits, _, _ in windows:
            hits.append(now)
        return None

    async def _send_activity_notification(self, request: web.Request) -> web.Response:
        team = self._team(request)
        try:
            body = await request.json()
        except ValueError:
            body = None
        problem = self._notification_problem(team, body)
        if problem is not None:
            return self.error(400, "BadRequest", problem)
        if not self._allows(request, team, "TeamsActivity.Send.Group", {"TeamsActivity.Send"}):
            return self.error(
                403,
                "Forbidden",
                "Missing role permissions on the request. API requires one of 'TeamsActivity.Send.Group, "
                "TeamsActivity.Send'.",
            )
        user = self._user_by_id(body["recipient"]["userId"]) or self.users.get(body["recipient"]["userId"].lower())
        if user is None or user["id"] not in team.members or self.bot_app_id not in team.installed_apps:
            return self.error(
                403,
                "Forbidden",
                f"Application with AAD App Id '{self.entra_app_id}' is not authorized to generate custom text "
                f"notifications about '/v1.0/teams/{team.id}/Microsoft.Teams.GraphSvc.sendActivityNotification' to "
                "the recipient. Ensure that the expected Teams app is installed in the target scope "
                "(user, team, or chat).",
            )
        throttled = self._feed_throttle(user["id"])
        if throttled is not None:
            return throttled
        self.notifications.append(SentNotification(team.id, user["id"], body, time.monotonic()))
        return web.Response(status=204)

    async def _permission_grants(self, request: web.Request) -> web.Response:
        """The team's resource-specific grants: kambot's (when installed there) and another app's."""
        team = self._team(request)
        readers = {"TeamsAppInstallation.ReadForTeam.All", "TeamsAppInstallation.ReadWriteForTeam.All"}
        if not self._allows(request, team, "TeamsAppInstallation.Read.Group", readers):
            return self.error(403, "Forbidden", "Missing role permissions on the request.")
        granted = sorted(team.rsc) if self.bot_app_id in team.installed_apps else []
        grants = [(self.entra_app_id, permission) for permission in granted] + [(OTHER_APP, "TeamsActivity.Send.Group")]
        return self._page(
            request,
            [
                {
                    "id": base64.b64encode(f"{client}##{permission}##Application".encode()).decode(),
                    "clientId": client,
                    "clientAppId": str(uuid.uuid5(uuid.NAMESPACE_URL, client)),
                    "resourceAppId": "00000003-0000-0000-c000-000000000000",
                    "permissionType": "Application",
                    "permission": permission,
                }
                for client, permission in grants
            ],
        )

    def notifications_to(self, user_id: str) -> list[SentNotification]:
        return [n for n in self.notifications if n.user_id == user_id]

    async def start(self) -> GraphFake:
        app = web.Application(middlewares=[self._middleware])
        base = "/v1.0/teams/{team}"
        app.router.add_get(f"{base}/channels", self._list_channels)
        app.router.add_post(f"{base}/channels", self._create_channel)
        app.router.add_patch(base + "/channels/{channel}", self._patch_channel)
        app.router.add_post(base + "/channels/{channel}/archive", self._archive_channel)
        app.router.add_get(base + "/channels/{channel}/tabs", self._list_tabs)
        app.router.add_post(base + "/channels/{channel}/tabs", self._add_tab)
        app.router.add_get(f"{base}/operations/{{operation}}", self._operation)
        app.router.add_get(f"{base}/members", self._list_team_members)
        app.router.add_post(f"{base}/members", self._add_team_member)
        app.router.add_get(base + "/channels/{channel}/members", self._list_channel_members)
        app.router.add_post(base + "/channels/{channel}/members", self._add_channel_member)
        app.router.add_delete(base + "/channels/{channel}/members/{membership}", self._remove_channel_member)
        app.router.add_post(base + "/channels/{channel}/enabledApps/$ref", self._enable_app)
        app.router.add_get(base + "/channels/{channel}/enabledApps", self._enabled_apps)
        app.router.add_get(f"{base}/installedApps", self._list_apps)
        app.router.add_post(f"{base}/installedApps", self._install_app)
        app.router.add_get("/v1.0/appCatalogs/teamsApps", self._list_catalog)
        app.router.add_post("/v1.0/appCatalogs/teamsApps", self._publish_app)
        app.router.add_post("/v1.0/appCatalogs/teamsApps/{app}/appDefinitions", self._update_app)
        app.router.add_get("/v1.0/users/{user}", self._user)
        app.router.add_get("/v1.0/users/{user}/calendarView", self._calendar_view)
        app.router.add_post(f"{base}/sendActivityNotification", self._send_activity_notification)
        app.router.add_get(f"{base}/permissionGrants", self._permission_grants)
        self.url = await self._listen(app)
        return self


def demo_tenant() -> GraphFake:
    """The Agents Playground's tenant as the demo portfolio uses it (not served: the Bot Connector fake's directory).

    kambot is installed in the one team, whose members are the people of the demo's account teams; Lynne
    (on no account team), Sam and Diego are users of the tenant outside it.
    """
    from kam.demo import ACCOUNTS
    from tests.support.teams import CONTOSO_CHANNEL, TEAM_ID, UNLINKED_CHANNEL, USERS

    tenant = GraphFake()
    team = tenant.add_team(TEAM_ID, general_id=TEAM_ID)
    team.installed_apps.append(tenant.bot_app_id)
    for channel_id, name in ((CONTOSO_CHANNEL, "Contoso Pharma"), (UNLINKED_CHANNEL, "Random")):
        team.channels[channel_id] = Channel(channel_id, name)
    on_teams = {name for account in ACCOUNTS for name in account.team}
    for person in USERS.values():
        tenant.add_user(person.upn, person.name, person.aad_object_id, person.teams_user_id)
        if person.name in on_teams:
            team.members[person.aad_object_id] = []
    return tenant


@asynccontextmanager
async def served_demo_tenant(folder: Path) -> AsyncIterator[tuple[str, GraphFake, ConnectorFake]]:
    """The demo's database in `folder`, its tenant served as Graph, and a Bot Connector fake that asks it."""
    from tests.support.fakes.connector import ConnectorFake
    from tests.support.harness import migrate_and_seed

    url = f"sqlite+aiosqlite:///{folder / 'kambot.db'}"
    await migrate_and_seed(url)
    graph = await demo_tenant().start()
    connector = await ConnectorFake(directory=graph).start()
    try:
        yield url, graph, connector
    finally:
        await connector.stop()
        await graph.stop()


def _utc(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


PACIFIC = dt.timezone(dt.timedelta(hours=-8))


def _event_json(event: dict[str, Any], fields: set[str] | None, utc: bool) -> dict[str, Any]:
    """As Graph answers: times as dateTimeTimeZone with seven decimals; in UTC only when asked (else the
    mailbox's own zone, Pacific here), only the $select-ed fields (and always the id)."""

    def moment(value: dt.datetime) -> dict[str, str]:
        local = value.astimezone(dt.UTC if utc else PACIFIC).replace(tzinfo=None)
        return {
            "dateTime": local.isoformat(timespec="microseconds") + "0",
            "timeZone": "UTC" if utc else "Pacific Standard Time",
        }

    whole = {**event, "start": moment(event["start"]), "end": moment(event["end"])}
    return {k: v for k, v in whole.items() if fields is None or k in fields or k == "id"}


def access_token(roles: set[str], app_id: str | None = None, tenant: str | None = None, seconds: int = 3600) -> str:
    """An app-only Graph token as Entra issues it (signed with the fake's test key): the application permissions
    granted to the app in `roles`, the app in `appid` (whom the fake sees calling) when one is named."""
    expires = int(time.time()) + seconds
    claims: dict[str, Any] = {"aud": "https://graph.microsoft.com", "roles": sorted(roles), "exp": expires}
    if app_id is not None:
        claims |= {"appid": app_id, "idtyp": "app"}
    if tenant is not None:
        claims |= {"tid": tenant, "iss": f"https://sts.windows.net/{tenant}/"}
    return jwt.encode(claims, TOKEN_KEY, algorithm="HS256")


class FakeGraphCredential:
    """An azure-identity style credential that hands out a token the Graph fake accepts.

    With `roles`, the token is a JWT carrying those application permissions, as Entra issues
    them, and the fake refuses what they do not cover; without, it may do everything. With
    `app_id`, the token names the app it was issued to.
    """

    def __init__(self, roles: set[str] | None = None, app_id: str | None = None) -> None:
        self.roles = roles
        self.app_id = app_id

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        expires = int(time.time()) + 3600
        if self.roles is None:
            return AccessToken(ALL_PERMISSIONS_TOKEN, expires)
        return AccessToken(access_token(self.roles, self.app_id), expires)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> FakeGraphCredential:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


# --- activity feed notifications ------------------------------------------------------------------------------
KAMBOT_ENTRA_APP_ID = "2b5e9a1c-7d3f-4e6a-9b8c-1f2e3d4c5b6a"  # the default Entra app of kambot's Teams app
OTHER_APP = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"  # another app with grants in every team
TEAMS_LINK = "https://teams.microsoft.com/"
FEED_PER_USER = 10  # notifications a minute to one user (Microsoft's best practices for activity feed notifications)
MANIFEST = Path(__file__).resolve().parents[3] / "deploy" / "manifest" / "manifest.template.json"


def declared_activity_types() -> set[str]:
    """The activity types kambot's app manifest declares: Graph refuses any other (but systemDefault)."""
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return {a["type"] for a in (manifest.get("activities") or {}).get("activityTypes") or []}


@dataclass
class SentNotification:
    team_id: str
    user_id: str
    body: dict[str, Any]
    at: float

    @property
    def parameters(self) -> dict[str, str]:
        return {p["name"]: p["value"] for p in self.body.get("templateParameters") or []}
