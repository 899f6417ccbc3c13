"""`kambot doctor`: is this installation ready for a tenant? Each check says ✓ or ✗, and how to fix a ✗.

It reads, never writes: configuration, the database and its schema, the bot's credentials (a token
from Entra), the app kambot calls Graph as (the token's `appid`: it must be the app the package's
webApplicationInfo names, to whom teams grant their resource-specific permissions), the Graph
permissions the enabled features need (the token's `roles`), access to each KAM team and its grant
for activity feed notifications, whether kambot can post in each confidential account's channel,
who of the account teams is missing from the team of their account's channel, and whether Teams can
reach the public URL.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import aiohttp
from azure.core.credentials_async import AsyncTokenCredential
from sqlalchemy.engine import make_url

from bot.admin.graph_access import graph_client_id, graph_credential, graph_gateway, graph_tenant
from bot.settings import Settings
from bot.teams.adapter import connector_token
from kam.migrate import head_revision
from kam.storage import Database

if TYPE_CHECKING:
    from graph.gateway import ChannelInfo, TeamsGateway

TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: does not apply to this configuration
    detail: str
    fix: str = ""


def configuration_checks(settings: Settings) -> list[Check]:
    checks = []
    if settings.local_mode:
        checks.append(
            Check(
                "Bot identity",
                False,
                "KAMBOT_APP_ID is empty: local mode, requests are not authenticated",
                "set KAMBOT_APP_ID, KAMBOT_APP_PASSWORD and KAMBOT_APP_TENANT_ID from the app registration",
            )
        )
    else:
        checks.append(Check("Bot identity", True, f"{settings.app_type} app {settings.app_id}"))
    checks.append(tenants_check(settings))
    checks.append(metrics_check(settings))
    parts = urlsplit(settings.public_base_url)
    if parts.scheme == "https" and parts.hostname:
        checks.append(Check("Public URL", True, settings.public_base_url))
    else:
        checks.append(
            Check(
                "Public URL",
                False,
                f"{settings.public_base_url} is not https",
                "set KAMBOT_PUBLIC_BASE_URL to the https address Teams reaches the bot at",
            )
        )
    return checks


def tenants_check(settings: Settings) -> Check:
    """Which tenants' messages are answered: a conversation of any other is neither used nor stored."""
    tenants = settings.tenant_ids
    if tenants:
        source = "KAMBOT_ALLOWED_TENANT_IDS" if settings.allowed_tenant_ids else "the bot's own tenant"
        return Check("Tenants", True, f"{', '.join(tenants)} ({source})")
    if settings.local_mode:
        return Check("Tenants", None, "local mode: any tenant (the Agents Playground's)")
    return Check(
        "Tenants",
        False,
        "no tenant allow-list: kambot would refuse to start",
        "set KAMBOT_ALLOWED_TENANT_IDS to your tenant id (comma-separated for several)",
    )


def metrics_check(settings: Settings) -> Check:
    if settings.local_mode:
        return Check("Metrics", None, "local mode: /metrics on the bot's port")
    if settings.metrics_port:
        return Check("Metrics", True, f"/metrics on its own port {settings.metrics_port} (keep it internal)")
    if settings.metrics_token:
        return Check("Metrics", True, "/metrics on the bot's port, for a bearer token (KAMBOT_METRICS_TOKEN)")
    return Check(
        "Metrics", True, "not served (set KAMBOT_METRICS_PORT, an internal port, or KAMBOT_METRICS_TOKEN to scrape it)"
    )


async def database_checks(settings: Settings) -> list[Check]:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
        return [Check("Database", False, f"no database file at {url.database}", "kambot db upgrade")]
    db = Database(settings.database_url)
    try:
        if not await db.reachable():
            return [Check("Database", False, "cannot connect", "check KAMBOT_DATABASE_URL and that the server runs")]
        kind = "PostgreSQL" if db.is_postgres else "SQLite (embedded: one instance only)"
        revision, wanted = await db.schema_revision(), head_revision()
    finally:
        await db.close()
    checks = [Check("Database", True, kind)]
    if revision == wanted:
        checks.append(Check("Database schema", True, f"at {wanted}"))
    else:
        checks.append(
            Check("Database schema", False, f"at {revision or 'nothing'}, needs {wanted}", "kambot db upgrade")
        )
    return checks


async def bot_credentials_check(settings: Settings) -> Check:
    """A token for the Bot Connector, fetched as the running bot would (botbuilder and MSAL)."""
    if settings.local_mode:
        return Check("Bot credentials", None, "local mode: no token needed")
    try:
        token = await asyncio.wait_for(connector_token(settings), TIMEOUT_SECONDS)
    except Exception as error:  # noqa: BLE001 - whatever Entra or the network says, the admin needs to read it
        return Check(
            "Bot credentials",
            False,
            f"no token: {type(error).__name__}: {str(error)[:200]}",
            "check KAMBOT_APP_PASSWORD (the client secret may have expired) and KAMBOT_APP_TENANT_ID",
        )
    if not token:
        return Check("Bot credentials", False, "Entra answered without a token", "check the app registration")
    return Check("Bot credentials", True, "token for the Bot Connector acquired")


async def graph_checks(settings: Settings, credential: AsyncTokenCredential | None = None) -> list[Check]:
    from graph.client import GRAPH_SCOPE
    from graph.gateway import GraphFailure
    from graph.permissions import (
        CALENDARS,
        CHANNEL_APPS,
        TEAM_MEMBERS_ADD,
        USER_LOOKUP,
        admin_consent_url,
        app_of,
        roles_of,
    )

    teams = await account_teams(settings)
    confidential = any(a.confidential for a in teams)
    needed = (
        ([USER_LOOKUP] if settings.kam_team_ids else [])
        + ([CHANNEL_APPS] if settings.kam_team_ids and confidential else [])
        + ([CALENDARS] if settings.meeting_nudges else [])
    )
    if not needed:
        return [Check("Microsoft Graph", None, "not used: no KAMBOT_KAM_TEAM_IDS, meeting nudges off")]
    try:
        credential = credential or graph_credential(settings)
    except ValueError as error:
        return [Check("Microsoft Graph", False, f"no Graph credential: {error}", "check the KAMBOT_GRAPH_* settings")]
    try:
        # Asked as msgraph-sdk asks (continuous access evaluation on): the token read here is the one its calls carry.
        token = await asyncio.wait_for(credential.get_token(GRAPH_SCOPE, enable_cae=True), TIMEOUT_SECONDS)
    except Exception as error:  # noqa: BLE001 - shown to the admin as it is
        detail = f"no token: {type(error).__name__}: {str(error)[:300]}"
        return [Check("Microsoft Graph", False, detail, _token_fix(settings))]
    caller = app_of(token.token) or graph_client_id(settings)
    checks = [Check("Microsoft Graph", True, f"token for {_graph_identity(settings, caller)}")]
    if settings.kam_team_ids:
        checks.append(graph_identity_check(settings, caller))
    roles = roles_of(token.token)
    consent = admin_consent_url(graph_tenant(settings), graph_client_id(settings))
    for permission in needed:
        if permission.granted(roles):
            checks.append(Check(f"Graph: {permission.name}", True, permission.purpose))
        else:
            fix = f"add {permission.name} (Application) to the app registration, then grant admin consent: {consent}"
            checks.append(Check(f"Graph: {permission.name}", False, f"not granted; {permission.purpose}", fix))
    if settings.kam_team_ids:
        granted = TEAM_MEMBERS_ADD.granted(roles)
        detail = TEAM_MEMBERS_ADD.purpose if granted else f"not granted (optional); {TEAM_MEMBERS_ADD.purpose}"
        checks.append(Check(f"Graph: {TEAM_MEMBERS_ADD.name}", True if granted else None, detail))
    gateway = graph_gateway(settings, credential)
    readable: dict[str, list[ChannelInfo]] = {}
    for team_id in settings.kam_team_ids:
        name = f"Team {team_id}"
        try:
            channels = readable[team_id] = await gateway.channels(team_id)
            installed = await gateway.installed_app_ids(team_id)
        except GraphFailure as failure:
            if failure.status == 404:
                checks.append(Check(name, False, "no such team", "check KAMBOT_KAM_TEAM_IDS (the teams' group ids)"))
            else:
                fix = "add kambot to this team (Teams admin center → Manage apps → kambot → Add to a team)"
                checks.append(Check(name, False, f"no access: HTTP {failure.status} {failure.code}", fix))
            continue
        if settings.teams_app_id and settings.teams_app_id not in installed:
            fix = "add kambot to this team, or run `kambot provision`, which installs it"
            checks.append(Check(name, False, f"{len(channels)} channel(s) readable, kambot not installed", fix))
        else:
            checks.append(Check(name, True, f"kambot installed, {len(channels)} channel(s) readable"))
    if confidential:
        checks.append(await confidential_channels_check(settings, gateway, teams, readable))
    if teams:
        checks.append(await team_members_check(gateway, teams, readable))
    return checks


def _graph_identity(settings: Settings, caller: str) -> str:
    if settings.graph_auth == "managed_identity":
        return f"the managed identity {caller}".rstrip()
    if settings.graph_auth == "managed_identity_federation":
        return f"app {caller}, federated with the managed identity {settings.graph_managed_identity_client_id}"
    return f"app {caller}"


def _token_fix(settings: Settings) -> str:
    if settings.graph_auth != "managed_identity_federation":
        return "check KAMBOT_GRAPH_AUTH and the identity's secret, certificate or managed identity"
    from graph.federation import TOKEN_EXCHANGE_AUDIENCE

    authority = settings.graph_authority or "https://login.microsoftonline.com"
    return (
        f"check the federated credential of app registration {graph_client_id(settings)} (Certificates & secrets → "
        f"Federated credentials): issuer {authority}/{graph_tenant(settings)}/v2.0, subject the managed identity's "
        f"object (principal) id, audience {TOKEN_EXCHANGE_AUDIENCE}; and that KAMBOT_GRAPH_MANAGED_IDENTITY_CLIENT_ID "
        "is the client id of the identity the container runs with (docs/admin.md, step 2)"
    )


def graph_identity_check(settings: Settings, caller: str) -> Check:
    """Teams grants a team's resource-specific permissions (RSC: its channels, tabs, members, installed apps, feed
    notifications) to the Entra app of the package's webApplicationInfo, and Graph honours them only for calls made
    as that app. Provisioning and the team checks need them, so kambot must call Graph as that app."""
    package_app = settings.sso_client_id
    if caller and caller == package_app:
        detail = f"kambot calls Graph as {package_app}, the app of the package's webApplicationInfo: teams' RSC apply"
        return Check("Graph identity", True, detail)
    detail = (
        f"kambot calls Graph as {_graph_identity(settings, caller)}, but the package's webApplicationInfo names "
        f"{package_app or 'no app'}: teams grant their resource-specific permissions (channels, tabs, members, "
        "installed apps, feed notifications) to that app, and Graph refuses them to any other"
    )
    return Check("Graph identity", False, detail, identity_fix(settings))


def identity_fix(settings: Settings) -> str:
    if settings.graph_auth == "managed_identity":
        return (
            "call Graph as the kambot tabs app registration, trusting the managed identity: "
            "KAMBOT_GRAPH_AUTH=managed_identity_federation, KAMBOT_GRAPH_MANAGED_IDENTITY_CLIENT_ID=<the identity's "
            "client id>, and a federated credential for the identity on that registration (docs/admin.md, step 2)"
        )
    return (
        f"call Graph as the app the package names (KAMBOT_GRAPH_CLIENT_ID={settings.sso_client_id}), or build the "
        "package for the app kambot calls Graph as (KAMBOT_TAB_SSO_CLIENT_ID)"
    )


@dataclass(frozen=True)
class AccountTeam:
    """An active account as provisioning placed it, with its people (Entra object ids, when known)."""

    name: str
    confidential: bool
    team_id: str | None
    channel_id: str | None
    people: tuple[tuple[str, str | None], ...]  # (name, object id)


async def account_teams(settings: Settings) -> list[AccountTeam]:
    """What the account list says; nothing when the database cannot be read (its own checks say why)."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from kam.models import Account

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
        return []
    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            accounts = list(await session.scalars(select(Account).where(Account.active).order_by(Account.id)))
            return [
                AccountTeam(
                    a.name,
                    a.confidential,
                    a.team_id,
                    a.channel_id,
                    tuple((m.person.name, m.person.aad_object_id) for m in a.members),
                )
                for a in accounts
            ]
    except (SQLAlchemyError, OSError):
        return []
    finally:
        await db.close()


async def confidential_channels_check(
    settings: Settings, gateway: TeamsGateway, teams: list[AccountTeam], readable: dict[str, list[ChannelInfo]]
) -> Check:
    """Teams lets the bot post in a shared channel it was added to, never in a private one."""
    from graph.gateway import GraphFailure

    problems = []
    for account in (a for a in teams if a.confidential):
        channel = next((c for c in readable.get(account.team_id or "", []) if c.id == account.channel_id), None)
        if channel is None:
            problems.append(f"{account.name}: no channel yet")
        elif channel.membership == "private":
            problems.append(f"{account.name}: a private channel, where Teams does not let kambot post")
        elif channel.membership != "shared":
            problems.append(f"{account.name}: a {channel.membership} channel, which the whole team reads")
        else:
            try:
                enabled = await gateway.enabled_app_ids(account.team_id or "", channel.id)
            except GraphFailure as failure:
                problems.append(f"{account.name}: cannot read the channel's apps (HTTP {failure.status})")
                continue
            if settings.teams_app_id not in enabled:
                problems.append(f"{account.name}: kambot is not added to its shared channel")
    total = sum(1 for a in teams if a.confidential)
    if not problems:
        return Check("Confidential channels", True, f"{total} shared channel(s), kambot in each")
    fix = "run `kambot provision`: it gives each confidential account a shared channel and adds kambot to it"
    return Check("Confidential channels", False, "; ".join(problems[:5]) + _more(problems, 5), fix)


async def team_members_check(
    gateway: TeamsGateway, teams: list[AccountTeam], readable: dict[str, list[ChannelInfo]]
) -> Check:
    """Teams opens a bot's 1:1 chat only with people in a team where it is installed (or who added it)."""
    from graph.gateway import GraphFailure
    from graph.permissions import TEAM_MEMBERS_ADD

    missing = []
    for team_id in sorted({a.team_id for a in teams if a.team_id in readable}):
        try:
            present = {m.user_id for m in await gateway.team_members(team_id or "")}
        except GraphFailure as failure:
            return Check("Team members", False, f"cannot read the members of team {team_id}: HTTP {failure.status}")
        for account in (a for a in teams if a.team_id == team_id):
            for name, object_id in account.people:
                if object_id is None:
                    missing.append(f"{name} ({account.name}; not found in the directory)")
                elif object_id not in present:
                    missing.append(f"{name} ({account.name})")
    missing = list(dict.fromkeys(missing))
    if not missing:
        return Check("Team members", True, "everyone on an account team is in the team of their account's channel")
    fix = f"add them to the team, or grant {TEAM_MEMBERS_ADD.name} and run `kambot provision`"
    detail = f"{len(missing)} not in their account's team (kambot cannot write to them): " + ", ".join(missing[:8])
    return Check("Team members", False, detail + _more(missing, 8), fix)


def _more(items: list[str], shown: int) -> str:
    return f" and {len(items) - shown} more" if len(items) > shown else ""


_FEED_FIX = (
    "update kambot in this team and accept its permissions (Teams admin center → Manage apps → kambot; a package "
    "built before TeamsActivity.Send.Group was asked for: `kambot package` and `kambot publish` first). Until "
    "then the 1:1 cards go without feed notifications"
)


async def activity_feed_checks(settings: Settings, credential: AsyncTokenCredential | None = None) -> list[Check]:
    """Each KAM team must grant kambot TeamsActivity.Send.Group (resource-specific consent, given when kambot is
    added to the team or an update is accepted) for feed notifications. Read from the team's grants, which
    kambot's TeamsAppInstallation.Read.Group allows; the grant must name the Entra app kambot calls Graph as."""
    from graph.activity_feed import SEND_IN_TEAM, may_send_in_team

    if not settings.activity_feed:
        return [Check("Activity feed", None, "off (KAMBOT_ACTIVITY_FEED=false): the 1:1 cards go alone")]
    if not settings.kam_team_ids:
        return [Check("Activity feed", None, "not used: no KAMBOT_KAM_TEAM_IDS")]
    client_id = graph_client_id(settings)
    manifest_app = settings.sso_client_id
    try:
        gateway = graph_gateway(settings, credential)
    except ValueError as error:
        return [Check("Activity feed", False, f"no Graph client: {error}", "see Microsoft Graph above")]
    checks = []
    for team_id in settings.kam_team_ids:
        name = f"Activity feed in {team_id}"
        try:
            grants = await asyncio.wait_for(gateway.permission_grants(team_id), TIMEOUT_SECONDS)
        except Exception as error:  # noqa: BLE001 - Graph's or Entra's answer, shown to the admin as it is
            detail = f"the team's grants cannot be read: {type(error).__name__}: {str(error)[:200]}"
            if manifest_app and manifest_app != client_id:
                # Read as another app than the one the grants name: that is the first thing to fix.
                detail += f" (kambot calls Graph as {_graph_identity(settings, client_id)}: see Graph identity)"
                checks.append(Check(name, False, detail, identity_fix(settings)))
            else:
                checks.append(Check(name, False, detail, "add kambot to this team, then " + _FEED_FIX))
            continue
        if may_send_in_team(grants, client_id):
            checks.append(Check(name, True, f"{SEND_IN_TEAM} granted to kambot ({client_id})"))
        elif manifest_app and manifest_app != client_id and may_send_in_team(grants, manifest_app):
            detail = (
                f"{SEND_IN_TEAM} is granted to {manifest_app} (the package's webApplicationInfo), but kambot calls "
                f"Graph as {_graph_identity(settings, client_id)} (see Graph identity)"
            )
            checks.append(Check(name, False, detail, identity_fix(settings)))
        else:
            checks.append(Check(name, False, f"{SEND_IN_TEAM} not granted to kambot ({client_id})", _FEED_FIX))
    return checks


async def reachability_check(settings: Settings) -> Check:
    url = settings.public_base_url.rstrip("/") + "/healthz"
    try:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
        # The system's trust store as it is now (SSL_CERT_FILE included, e.g. a company's own CA).
        connector = aiohttp.TCPConnector(ssl=ssl.create_default_context())
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http, http.get(url) as response:
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as error:
        return Check("Reachable", False, f"{url}: {type(error).__name__}: {str(error)[:150]}", _REACH_FIX)
    if status != 200:
        return Check("Reachable", False, f"{url} answered HTTP {status}", _REACH_FIX)
    return Check("Reachable", True, f"{url} answers")


_REACH_FIX = "check DNS, TLS and that kambot runs behind KAMBOT_PUBLIC_BASE_URL (it must answer /healthz)"


async def run_checks(settings: Settings, graph_credential_override: AsyncTokenCredential | None = None) -> list[Check]:
    checks = configuration_checks(settings)
    checks += await database_checks(settings)
    checks.append(await bot_credentials_check(settings))
    # One credential for every Graph check, as kambot uses one: its tokens are cached, and it is closed after.
    credential = graph_credential_override or _configured_credential(settings)
    try:
        checks += await graph_checks(settings, credential)
        checks += await activity_feed_checks(settings, credential)
    finally:
        if credential is not None and graph_credential_override is None:
            await credential.close()
    checks.append(await reachability_check(settings))
    return checks


def _configured_credential(settings: Settings) -> AsyncTokenCredential | None:
    """None when the settings make none (the Graph checks then say why)."""
    try:
        return graph_credential(settings)
    except ValueError:
        return None
