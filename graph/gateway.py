"""The Teams operations kambot needs from Microsoft Graph, paced and retried, in plain types."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from msgraph import GraphServiceClient
from msgraph.generated.models.aad_user_conversation_member import AadUserConversationMember
from msgraph.generated.models.channel import Channel
from msgraph.generated.models.channel_membership_type import ChannelMembershipType
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.teams_app_installation import TeamsAppInstallation
from msgraph.generated.models.teams_tab import TeamsTab
from msgraph.generated.models.teams_tab_configuration import TeamsTabConfiguration
from msgraph.generated.teams.item.channels.item.archive.archive_post_request_body import ArchivePostRequestBody
from opentelemetry import metrics, trace
from opentelemetry.trace import Status, StatusCode

from graph.activity_feed import ActivityNotification, Grant, Notified, grant_of
from graph.limits import GraphLimits, NotNow
from kam.meetings import Attendee, Meeting
from kam.storage import no_transaction_open
from kam.text import plain_number

T = TypeVar("T")
GRAPH = "https://graph.microsoft.com/v1.0"

# Telemetry through the OpenTelemetry API: a no-op unless the process configured an SDK (bot/telemetry.py).
# Attributes are named kambot.*: Azure Monitor's exporter leaves http.* and the like out of what it sends.
RESOURCE, WRITE, ATTEMPTS = "kambot.graph.resource", "kambot.graph.write", "kambot.attempts"
STATUS, CODE, OUTCOME, THROTTLED = "kambot.status", "kambot.graph.code", "kambot.outcome", "kambot.graph.throttled"
tracer = trace.get_tracer("kambot.graph")
graph_calls = metrics.get_meter("kambot.graph").create_counter(
    "kambot.graph.calls", description="Microsoft Graph operations (with their retries), by outcome and throttling"
)
TRANSIENT = {429, 500, 502, 503, 504}
ERRORS = {"XXX": ODataError}


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(-1 if (number := plain_number(part)) is None else number for part in version.split("."))


@dataclass(frozen=True)
class CatalogApp:
    id: str  # the catalog's id: KAMBOT_TEAMS_APP_ID
    external_id: str  # the manifest's id
    version: str

    def older_than(self, version: str) -> bool:
        """Teams takes an update only with a higher version (1.10.0 is higher than 1.9.0)."""
        return _version_key(self.version) < _version_key(version)


class GraphFailure(Exception):
    """Graph said no, for a reason a person must look at (or it kept failing)."""

    def __init__(self, status: int | None, code: str, message: str) -> None:
        super().__init__(f"{status or 'no answer'} {code}: {message}")
        self.status = status
        self.code = code


class NameTaken(GraphFailure):
    """A channel with that name exists already (perhaps deleted recently)."""


@dataclass(frozen=True)
class ChannelInfo:
    id: str
    name: str
    membership: str = "standard"  # "private" or "shared" channels have members of their own
    archived: bool = False


@dataclass(frozen=True)
class Membership:
    """Someone's membership of a team or channel: `id` is Graph's (opaque), to remove it by."""

    id: str
    user_id: str
    owner: bool


@dataclass(frozen=True)
class TabSpec:
    name: str
    entity_id: str
    content_url: str
    website_url: str


def _channel(data: dict[str, Any]) -> ChannelInfo:
    return ChannelInfo(
        data["id"],
        data.get("displayName") or "",
        data.get("membershipType") or "standard",
        bool(data.get("isArchived")),
    )


def _membership(data: dict[str, Any]) -> Membership:
    return Membership(str(data.get("id") or ""), str(data.get("userId") or ""), "owner" in (data.get("roles") or []))


def _member(user_id: str, owner: bool) -> AadUserConversationMember:
    return AadUserConversationMember(
        odata_type="#microsoft.graph.aadUserConversationMember",
        roles=["owner"] if owner else [],
        additional_data={"user@odata.bind": f"{GRAPH}/users('{user_id}')"},
    )


SHARED_CHANNEL_WAITS = (0.5, 1.0, 2.0, 4.0, 8.0)  # seconds between looks for a shared channel being made
# msgraph-sdk reads a channel's enabled apps but has no builder for adding one.
ENABLED_APP_REFERENCE = "{+baseurl}/teams/{team%2Did}/channels/{channel%2Did}/enabledApps/$ref"


def _failure(error: APIError) -> GraphFailure:
    inner = getattr(error, "error", None)
    code = getattr(inner, "code", None) or "Error"
    message = getattr(inner, "message", None) or str(error)
    kind = NameTaken if code == "NameAlreadyExists" or error.response_status_code == 409 else GraphFailure
    return kind(error.response_status_code, code, message)


def _retry_after(error: APIError) -> float | None:
    headers = {k.lower(): v for k, v in (error.response_headers or {}).items()}
    try:
        return min(60.0, float(headers["retry-after"]))
    except (KeyError, TypeError, ValueError):
        return None


class TeamsGateway:
    """Every call, retries included, waits its turn under Graph's limits.

    Transient failures (429, 5xx, timeouts) are retried after Graph's Retry-After,
    or with jittered exponential backoff where it names none.
    """

    def __init__(
        self,
        client: GraphServiceClient,
        limits: GraphLimits | None = None,
        attempts: int = 4,
        on_throttled: Callable[[], None] | None = None,
    ) -> None:
        self._client = client
        self._limits = limits or GraphLimits()
        self._attempts = attempts
        self._on_throttled = on_throttled
        self.requests = 0
        self.throttled = 0

    async def _call(
        self,
        resource: str,
        write: bool,
        operation: Callable[[], Awaitable[T]],
        pace: Callable[[int], Awaitable[None]] | None = None,
    ) -> T:
        """One operation with its retries, as one span: an event for each try that failed, and each
        try's HTTP request as a child (the httpx instrumentation's, where telemetry is on).

        `pace(attempt)`: waits for the try's turn under limits shared with other processes, after this
        process's own; it may raise NotNow, and then no request is made (nor counted as a failure)."""
        no_transaction_open(f"a Graph call ({resource})")
        succeeded = throttled = not_now = False
        with tracer.start_as_current_span(
            f"graph {resource.partition(':')[0]}",
            attributes={RESOURCE: resource, WRITE: write},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                for attempt in range(1, self._attempts + 1):
                    await self._limits.before(resource, write=write)
                    if pace is not None:
                        try:
                            await pace(attempt)
                        except NotNow:
                            not_now = True
                            raise
                    self.requests += 1
                    span.set_attribute(ATTEMPTS, attempt)
                    delay = random.uniform(0, min(8.0, 0.5 * 2**attempt))
                    try:
                        answer = await operation()
                        succeeded = True
                        return answer
                    except APIError as error:
                        failure = _failure(error)
                        span.add_event("failed", {STATUS: failure.status or 0, CODE: failure.code})
                        if failure.status not in TRANSIENT or attempt == self._attempts:
                            span.set_status(Status(StatusCode.ERROR, failure.code))
                            raise failure from None
                        delay = _retry_after(error) or delay
                        if failure.status == 429:
                            throttled = True
                            self.throttled += 1
                            if self._on_throttled is not None:
                                self._on_throttled()
                    except (httpx.TimeoutException, httpx.TransportError) as error:
                        span.add_event("failed", {CODE: type(error).__name__})
                        if attempt == self._attempts:
                            span.set_status(Status(StatusCode.ERROR, "Timeout"))
                            raise GraphFailure(None, "Timeout", str(error) or type(error).__name__) from None
                    await asyncio.sleep(delay)
                raise AssertionError("unreachable")
            finally:
                span.set_attribute(THROTTLED, throttled)
                if not not_now:
                    graph_calls.add(1, {OUTCOME: "ok" if succeeded else "failed", THROTTLED: throttled})

    async def _json(
        self,
        resource: str,
        write: bool,
        request: Callable[[], RequestInformation],
        pace: Callable[[int], Awaitable[None]] | None = None,
    ) -> Any:
        """Send a request and read its JSON answer as plain data.

        msgraph-sdk's model parsing costs about 11 ms of CPU per entity here (it runs
        hundreds of imports per call); kambot needs a few fields, so it reads JSON itself.
        """
        send: Any = self._client.request_adapter.send_primitive_async  # typed as returning None for "bytes"
        raw = await self._call(resource, write, lambda: send(request(), "bytes", ERRORS), pace)
        return json.loads(raw) if raw else None

    async def _post(
        self,
        resource: str,
        url_template: str,
        path_parameters: dict[str, Any],
        body: bytes,
        content_type: str = "application/json",
        pace: Callable[[int], Awaitable[None]] | None = None,
    ) -> Any:
        """POST a body the SDK has no request builder for (a $ref, an app package, an activity notification)."""

        def request() -> RequestInformation:
            information = RequestInformation(Method.POST, url_template, path_parameters)
            information.headers.try_add("Accept", "application/json")
            information.set_stream_content(body, content_type)
            return information

        return await self._json(resource, True, request, pace)

    async def _pages(
        self, resource: str, builder: Any, configuration: RequestConfiguration | None = None
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        page = await self._json(resource, False, lambda: builder.to_get_request_information(configuration))
        while page:
            items += page.get("value", [])
            link = page.get("@odata.nextLink")

            def next_page(url: str = str(link)) -> RequestInformation:
                return builder.with_url(url).to_get_request_information(configuration)

            page = await self._json(resource, False, next_page) if link else None
        return items

    async def channels(self, team_id: str) -> list[ChannelInfo]:
        found = await self._pages(f"team:{team_id}", self._client.teams.by_team_id(team_id).channels)
        return [_channel(c) for c in found]

    async def create_channel(self, team_id: str, name: str, description: str) -> ChannelInfo:
        """A standard channel: every member of the team is in it."""
        body = Channel(display_name=name, description=description)
        channels = self._client.teams.by_team_id(team_id).channels
        created = await self._json(f"team:{team_id}", True, lambda: channels.to_post_request_information(body))
        return _channel(created)

    async def create_shared_channel(self, team_id: str, name: str, description: str, owner_id: str) -> ChannelInfo:
        """A shared channel in the team, with one owner (Graph takes only one at creation; the others are
        added as members afterwards). Graph makes it in the background (202 and an operation): it is
        looked for by name until it shows."""
        body = Channel(
            display_name=name,
            description=description,
            membership_type=ChannelMembershipType.Shared,
            members=[_member(owner_id, owner=True)],
        )
        channels = self._client.teams.by_team_id(team_id).channels
        await self._json(f"team:{team_id}", True, lambda: channels.to_post_request_information(body))
        for wait in (0.0, *SHARED_CHANNEL_WAITS):
            await asyncio.sleep(wait)
            found = next((c for c in await self.channels(team_id) if c.name.lower() == name.lower()), None)
            if found is not None:
                return found
        raise GraphFailure(202, "NotYetCreated", f"the shared channel {name!r} has not appeared yet; run again later")

    async def team_members(self, team_id: str) -> list[Membership]:
        """Needs TeamMember.Read.Group (resource-specific consent, granted when kambot is added to the team)."""
        found = await self._pages(f"team:{team_id}", self._client.teams.by_team_id(team_id).members)
        return [_membership(m) for m in found]

    async def add_team_member(self, team_id: str, user_id: str) -> None:
        """Needs TeamMember.ReadWriteNonOwnerRole.All (application, admin consent): members, never owners."""
        members = self._client.teams.by_team_id(team_id).members
        body = _member(user_id, owner=False)
        await self._json(f"team:{team_id}", True, lambda: members.to_post_request_information(body))

    async def channel_members(self, team_id: str, channel_id: str) -> list[Membership]:
        """The direct members of a private or shared channel (ChannelMember.ReadWrite.Group covers reading)."""
        builder = self._client.teams.by_team_id(team_id).channels.by_channel_id(channel_id).members
        return [_membership(m) for m in await self._pages(f"channel:{channel_id}", builder)]

    async def add_channel_member(self, team_id: str, channel_id: str, user_id: str, *, owner: bool) -> None:
        members = self._client.teams.by_team_id(team_id).channels.by_channel_id(channel_id).members
        body = _member(user_id, owner)
        await self._json(f"channel:{channel_id}", True, lambda: members.to_post_request_information(body))

    async def remove_channel_member(self, team_id: str, channel_id: str, membership_id: str) -> None:
        member = (
            self._client.teams.by_team_id(team_id)
            .channels.by_channel_id(channel_id)
            .members.by_conversation_member_id(membership_id)
        )
        await self._json(f"channel:{channel_id}", True, member.to_delete_request_information)

    async def enabled_app_ids(self, team_id: str, channel_id: str) -> set[str]:
        """The apps added to a shared channel (an app of the host team is not in it until added)."""
        builder = self._client.teams.by_team_id(team_id).channels.by_channel_id(channel_id).enabled_apps
        return {str(a.get("id")) for a in await self._pages(f"channel:{channel_id}", builder)}

    async def enable_app(self, team_id: str, channel_id: str, app_id: str) -> None:
        """Add kambot (installed in the host team) to a shared channel: POST .../enabledApps/$ref."""
        enabled = self._client.teams.by_team_id(team_id).channels.by_channel_id(channel_id).enabled_apps
        body = json.dumps({"@odata.id": f"{GRAPH}/appCatalogs/teamsApps/{app_id}"}).encode()
        await self._post(f"channel:{channel_id}", ENABLED_APP_REFERENCE, enabled.path_parameters, body)

    async def rename_channel(self, team_id: str, channel_id: str, name: str) -> None:
        channel = self._client.teams.by_team_id(team_id).channels.by_channel_id(channel_id)
        await self._json(
            f"channel:{channel_id}", True, lambda: channel.to_patch_request_information(Channel(display_name=name))
        )

    async def archive_channel(self, team_id: str, channel_id: str) -> None:
        archive = self._client.teams.by_team_id(team_id).channels.by_channel_id(channel_id).archive
        await self._json(
            f"channel:{channel_id}", True, lambda: archive.to_post_request_information(ArchivePostRequestBody())
        )

    async def tab_entity_ids(self, team_id: str, channel_id: str) -> set[str]:
        builder = self._client.teams.by_team_id(team_id).channels.by_channel_id(channel_id).tabs
        tabs = await self._pages(f"channel:{channel_id}", builder)
        return {e for t in tabs if isinstance(e := (t.get("configuration") or {}).get("entityId"), str)}

    async def add_tab(self, team_id: str, channel_id: str, app_id: str, tab: TabSpec) -> None:
        body = TeamsTab(
            display_name=tab.name,
            configuration=TeamsTabConfiguration(
                entity_id=tab.entity_id, content_url=tab.content_url, website_url=tab.website_url
            ),
            additional_data={"teamsApp@odata.bind": f"{GRAPH}/appCatalogs/teamsApps/{app_id}"},
        )
        tabs = self._client.teams.by_team_id(team_id).channels.by_channel_id(channel_id).tabs
        await self._json(f"channel:{channel_id}", True, lambda: tabs.to_post_request_information(body))

    async def installed_app_ids(self, team_id: str) -> set[str]:
        apps = await self._pages(f"team:{team_id}", self._client.teams.by_team_id(team_id).installed_apps)
        return {i for a in apps if isinstance(i := (a.get("teamsApp") or {}).get("id"), str)}

    async def install_app(self, team_id: str, app_id: str) -> None:
        body = TeamsAppInstallation(additional_data={"teamsApp@odata.bind": f"{GRAPH}/appCatalogs/teamsApps/{app_id}"})
        apps = self._client.teams.by_team_id(team_id).installed_apps
        await self._json(f"team:{team_id}", True, lambda: apps.to_post_request_information(body))

    async def catalog_app(self, external_id: str) -> CatalogApp | None:
        """kambot in the tenant's app catalog, found by its manifest id, with its newest version."""
        from msgraph.generated.app_catalogs.teams_apps.teams_apps_request_builder import TeamsAppsRequestBuilder

        query = TeamsAppsRequestBuilder.TeamsAppsRequestBuilderGetQueryParameters(
            filter=f"externalId eq '{external_id}'", expand=["appDefinitions"]
        )
        found = await self._pages(
            "tenant", self._client.app_catalogs.teams_apps, RequestConfiguration(query_parameters=query)
        )
        if not found:
            return None
        versions = [d.get("version", "") for d in found[0].get("appDefinitions") or []]
        newest = max(versions, key=_version_key, default="")
        return CatalogApp(found[0]["id"], found[0].get("externalId", external_id), newest)

    async def upload_app(self, archive: bytes, version: str, existing: CatalogApp | None) -> CatalogApp:
        """A new app in the catalog, or a new version of `existing` (Teams wants a higher version each time)."""
        apps = self._client.app_catalogs.teams_apps
        builder: Any = apps if existing is None else apps.by_teams_app_id(existing.id).app_definitions
        answer = await self._post("tenant", builder.url_template, builder.path_parameters, archive, "application/zip")
        answer = answer or {}
        if existing is not None:
            return CatalogApp(existing.id, existing.external_id, answer.get("version", version))
        return CatalogApp(answer["id"], answer.get("externalId", ""), version)

    async def user_id(self, upn: str) -> str | None:
        user = self._client.users.by_user_id(upn)
        try:
            found = await self._json("tenant", False, user.to_get_request_information)
        except GraphFailure as failure:
            if failure.status == 404:
                return None
            raise
        return found.get("id") if found else None

    async def calendar_meetings(self, user_id: str, start: dt.datetime, end: dt.datetime) -> list[Meeting]:
        """The events in a user's calendar between start and end (those overlapping it), in UTC.

        Needs the application permission Calendars.ReadBasic.All (subject, times, attendees; never the body).
        """
        view = self._client.users.by_user_id(user_id).calendar_view
        parameters = view.CalendarViewRequestBuilderGetQueryParameters(
            start_date_time=_iso(start), end_date_time=_iso(end), select=list(EVENT_FIELDS), top=CALENDAR_PAGE
        )
        configuration = RequestConfiguration(query_parameters=parameters)
        configuration.headers.add("Prefer", 'outlook.timezone="UTC"')
        events = await self._pages(f"mailbox:{user_id}", view, configuration)
        return [_meeting(e) for e in events if e.get("iCalUId") and e.get("start") and e.get("end")]

    async def send_activity_notification(
        self,
        team_id: str,
        notification: ActivityNotification,
        pace: Callable[[int], Awaitable[None]] | None = None,
    ) -> Notified:
        """POST /teams/{team-id}/sendActivityNotification (RSC TeamsActivity.Send.Group): 204, or FORBIDDEN.

        `pace(attempt)` runs before each try, a retry after a 429 included, so that every request waits its
        turn under the limits Graph counts it against (graph.limits: FEED_*), whichever process sends it.
        """
        send = self._client.teams.by_team_id(team_id).send_activity_notification
        body = json.dumps(notification.body()).encode()
        try:
            await self._post(f"team:{team_id}", send.url_template, send.path_parameters, body, pace=pace)
        except GraphFailure as failure:
            if failure.status == 403:
                return Notified.FORBIDDEN
            raise
        return Notified.SENT

    async def permission_grants(self, team_id: str) -> list[Grant]:
        """The resource-specific permissions the team granted to apps (TeamsAppInstallation.Read.Group reads them)."""
        found = await self._pages(f"team:{team_id}", self._client.teams.by_team_id(team_id).permission_grants)
        return [grant_of(g) for g in found]


EVENT_FIELDS = ("iCalUId", "subject", "start", "end", "attendees", "isCancelled")
CALENDAR_PAGE = 100


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _moment(value: dict[str, Any]) -> dt.datetime:
    """Graph's dateTimeTimeZone: seven decimals and a separate zone (UTC, as asked for)."""
    raw = str(value.get("dateTime", ""))[:26]
    moment = dt.datetime.fromisoformat(raw)
    try:
        zone: dt.tzinfo = ZoneInfo(value.get("timeZone") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    return moment.replace(tzinfo=zone).astimezone(dt.UTC)


def _meeting(event: dict[str, Any]) -> Meeting:
    attendees = tuple(
        Attendee(str(address.get("name") or ""), str(address.get("address") or ""))
        for address in ((a.get("emailAddress") or {}) for a in event.get("attendees") or [])
        if address.get("address")
    )
    return Meeting(
        key=str(event["iCalUId"]),
        subject=str(event.get("subject") or ""),
        starts_at=_moment(event["start"]),
        ends_at=_moment(event["end"]),
        attendees=attendees,
        cancelled=bool(event.get("isCancelled")),
    )
