"""kambot calls Graph as the app the package's webApplicationInfo names, proven by the container's managed identity.

Teams grants a team's resource-specific consent (RSC) to that app, and Graph honours it only for calls made as that
app. On Azure, kambot has no secret: the `kambot tabs` app registration trusts the managed identity through a
federated credential, and the identity's token (audience api://AzureADTokenExchange) is the app's client assertion.
Here the managed identity endpoint (IDENTITY_ENDPOINT, IDENTITY_HEADER, as Container Apps sets them), Entra's token
endpoint (checking the assertion against the federated credential) and Graph (honouring the teams' grants only for
the app they name) are loopback fakes; `kambot doctor` runs as an admin runs it, in its own process. (It has to:
azure-identity talks to Entra over aiohttp, which reads the trust store once, when it is imported, so the fake's
certificate authority must be in SSL_CERT_FILE before the process starts.)
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.admin.doctor import activity_feed_checks, graph_checks
from bot.admin.graph_access import graph_credential
from kam.migrate import upgrade
from tests.support.cli import kambot
from tests.support.fakes.graph import GraphFake
from tests.support.fakes.jwks import AppRegistration, FederatedCredential, IdentityFake
from tests.support.fakes.loopback import serve_on_loopback
from tests.support.fakes.managed_identity import AssignedIdentity, ManagedIdentityFake
from tests.support.harness import local_settings

TENANT = "7c1e5a2b-0000-4000-8000-00000000e17a"
BOT_APP = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
TABS_APP = "3e9d1c7b-5a2f-4b8e-9c6d-0f1e2d3c4b5a"  # the `kambot tabs` registration: the package's webApplicationInfo
IDENTITY = AssignedIdentity("a1d2c3b4-0000-4000-8000-0000000000c1", "e5f6a7b8-0000-4000-8000-0000000000b1")
OTHER_IDENTITY = AssignedIdentity("a1d2c3b4-0000-4000-8000-0000000000c2", "e5f6a7b8-0000-4000-8000-0000000000b2")
CATALOG_ID = "0b9f2e1d-catalog-kambot"
GRANTED = frozenset({"User.ReadBasic.All", "TeamMember.ReadWriteNonOwnerRole.All"})


@pytest.fixture
async def graph() -> AsyncIterator[GraphFake]:
    fake = await GraphFake(bot_app_id=CATALOG_ID).start()
    fake.entra_app_id = TABS_APP  # the teams' RSC grants name the package's webApplicationInfo app
    fake.add_team("team-kam").installed_apps.append(CATALOG_ID)
    yield fake
    await fake.stop()


@pytest.fixture
def tabs_app(identity: IdentityFake) -> Iterator[AppRegistration]:
    """The `kambot tabs` registration, with admin consent for its Graph permissions and a federated credential
    trusting the container's managed identity, as docs/admin.md sets it up."""
    trust = FederatedCredential(identity.tenant_issuer(TENANT), IDENTITY.principal_id)
    registration = AppRegistration(set(GRANTED), [trust])
    identity.apps[TABS_APP] = registration
    identity.exchanges.clear()
    yield registration
    del identity.apps[TABS_APP]


@pytest.fixture
async def container(identity: IdentityFake) -> AsyncIterator[ManagedIdentityFake]:
    """The managed identity endpoint of the container app, which runs with both identities assigned."""
    fake = await ManagedIdentityFake(identity, TENANT, [IDENTITY, OTHER_IDENTITY]).start()
    yield fake
    await fake.stop()


@pytest.fixture
async def public_url(identity: IdentityFake) -> AsyncIterator[str]:
    """/healthz over https with a certificate the doctor's process trusts, as Teams reaches kambot."""
    assert identity.ca_bundle is not None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(identity.ca_bundle, identity.ca_bundle.parent / "key.pem")

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner, port = await serve_on_loopback(app, context)
    yield f"https://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'kambot.db'}"
    await asyncio.to_thread(upgrade, url)
    return url


def azure_environment(
    identity: IdentityFake, graph: GraphFake, container: ManagedIdentityFake, database: str, public_url: str
) -> dict[str, str]:
    """What deploy/azure/main.bicep gives the container (and Azure: IDENTITY_*), pointed at the fakes."""
    return {
        **container.environment,
        "KAMBOT_DATABASE_URL": database,
        "KAMBOT_APP_ID": BOT_APP,
        "KAMBOT_APP_PASSWORD": "bot-secret",
        "KAMBOT_APP_TENANT_ID": TENANT,
        "KAMBOT_AUTH_LOGIN_URL": identity.login_url,
        "KAMBOT_AUTH_OAUTH_SCOPE": "https://api.botframework.test/.default",
        "KAMBOT_PUBLIC_BASE_URL": public_url,
        "KAMBOT_GRAPH_AUTH": "managed_identity_federation",
        "KAMBOT_GRAPH_MANAGED_IDENTITY_CLIENT_ID": IDENTITY.client_id,
        "KAMBOT_GRAPH_TENANT_ID": TENANT,
        "KAMBOT_GRAPH_AUTHORITY": identity.base_url,
        "KAMBOT_GRAPH_BASE_URL": f"{graph.url}/v1.0",
        "KAMBOT_TAB_SSO_CLIENT_ID": TABS_APP,
        "KAMBOT_KAM_TEAM_IDS": "team-kam",
        "KAMBOT_TEAMS_APP_ID": CATALOG_ID,
        "SSL_CERT_FILE": str(identity.ca_bundle),
        "REQUESTS_CA_BUNDLE": str(identity.ca_bundle),
        "PYTHONPATH": str(Path.cwd()),
        "COLUMNS": "1000",  # one line a row
    }


async def doctor(env: dict[str, str], cwd: Path) -> tuple[int, dict[str, str]]:
    """`kambot doctor` in its own process (while the fakes answer on this loop): its exit code and rows by check."""
    result = await asyncio.to_thread(kambot, "doctor", env=env, cwd=cwd)
    assert "Traceback" not in result.stderr, result.stderr
    assert "Unclosed" not in result.stderr, "the credential closes both of its clients' sessions"
    rows = {line.split("│")[2].strip(): line for line in result.stdout.splitlines() if line.count("│") >= 4}
    return result.returncode, rows


async def test_kambot_calls_graph_as_the_tabs_app_proven_by_the_managed_identity_and_every_check_passes(
    identity: IdentityFake,
    graph: GraphFake,
    tabs_app: AppRegistration,
    container: ManagedIdentityFake,
    database: str,
    public_url: str,
    tmp_path: Path,
) -> None:
    env = azure_environment(identity, graph, container, database, public_url)
    code, rows = await doctor(env, tmp_path)

    failed = {name: row for name, row in rows.items() if "✓" not in row and "–" not in row}
    assert code == 0 and failed == {}
    proven = f"token for app {TABS_APP}, federated with the managed identity {IDENTITY.client_id}"
    assert proven in rows["Microsoft Graph"]
    assert "✓" in rows["Graph identity"] and "webApplicationInfo" in rows["Graph identity"]
    assert "✓" in rows["Team team-kam"] and "kambot installed" in rows["Team team-kam"]
    assert f"TeamsActivity.Send.Group granted to kambot ({TABS_APP})" in rows["Activity feed in team-kam"]
    assert "✓" in rows["Graph: User.ReadBasic.All"], "the app registration's admin-consented permission, in its token"

    # One token from the identity and one exchange for the whole run: azure-identity's caches, one credential.
    assert container.requests == [(IDENTITY.client_id, "api://AzureADTokenExchange")]
    assert identity.exchanges == [TABS_APP]
    assert len(graph.calls) >= 3 and {call.app for call in graph.calls} == {TABS_APP}
    assert all(call.status == 200 for call in graph.calls)


@pytest.mark.parametrize(
    ("audience", "container_identity", "code", "shown"),
    [
        pytest.param(
            "api://AzureADTokenExchangeUSGov",
            IDENTITY,
            "AADSTS700212",
            "audience 'api://AzureADTokenExchange'",
            id="wrong audience",
        ),
        pytest.param(
            "api://AzureADTokenExchange",
            OTHER_IDENTITY,
            "AADSTS700213",
            f"subject '{OTHER_IDENTITY.principal_id}'",
            id="another identity",
        ),
    ],
)
async def test_a_federated_credential_that_does_not_match_is_named_with_entras_error_and_the_fix(
    identity: IdentityFake,
    graph: GraphFake,
    tabs_app: AppRegistration,
    container: ManagedIdentityFake,
    database: str,
    public_url: str,
    tmp_path: Path,
    audience: str,
    container_identity: AssignedIdentity,
    code: str,
    shown: str,
) -> None:
    tabs_app.federated[:] = [FederatedCredential(identity.tenant_issuer(TENANT), IDENTITY.principal_id, (audience,))]
    env = azure_environment(identity, graph, container, database, public_url)
    env["KAMBOT_GRAPH_MANAGED_IDENTITY_CLIENT_ID"] = container_identity.client_id
    exit_code, rows = await doctor(env, tmp_path)

    assert exit_code == 1
    graph_row = rows["Microsoft Graph"]
    assert "✗" in graph_row and code in graph_row and shown in graph_row
    fix = (
        f"federated credential of app registration {TABS_APP}",
        f"issuer {identity.tenant_issuer(TENANT)}",
        "audience api://AzureADTokenExchange",
        "KAMBOT_GRAPH_MANAGED_IDENTITY_CLIENT_ID",
    )
    assert all(part in graph_row for part in fix)
    assert identity.exchanges == [] and graph.calls == [], "no token, so nothing reached Graph"


async def test_calling_graph_as_the_managed_identity_is_refused_the_teams_grants_and_the_doctor_says_how_to_fix_it(
    identity: IdentityFake,
    graph: GraphFake,
    container: ManagedIdentityFake,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The setup before the federation: Graph as the managed identity, whose token names it (appid)."""
    for name, value in container.environment.items():
        monkeypatch.setenv(name, value)
    container.assigned[0] = AssignedIdentity(IDENTITY.client_id, IDENTITY.principal_id, GRANTED)
    settings = local_settings(
        sqlite_url,
        app_id=IDENTITY.client_id,
        app_type="UserAssignedMSI",
        app_tenant_id=TENANT,
        public_base_url="https://kambot.contoso.example",
        graph_auth="managed_identity",
        graph_client_id=IDENTITY.client_id,
        graph_base_url=f"{graph.url}/v1.0",
        tab_sso_client_id=TABS_APP,
        kam_team_ids=["team-kam"],
        teams_app_id=CATALOG_ID,
        activity_feed=True,
    )
    credential = graph_credential(settings)  # the real ManagedIdentityCredential, asking the container's endpoint
    try:
        found = await graph_checks(settings, credential) + await activity_feed_checks(settings, credential)
    finally:
        await credential.close()
    checks = {c.name: c for c in found}

    assert checks["Microsoft Graph"].ok and IDENTITY.client_id in checks["Microsoft Graph"].detail
    mismatch = checks["Graph identity"]
    assert mismatch.ok is False
    assert f"managed identity {IDENTITY.client_id}" in mismatch.detail and TABS_APP in mismatch.detail
    assert "KAMBOT_GRAPH_AUTH=managed_identity_federation" in mismatch.fix
    assert "KAMBOT_GRAPH_MANAGED_IDENTITY_CLIENT_ID" in mismatch.fix
    # What the check foresees is what Graph does: the team's grants are not the managed identity's.
    assert checks["Team team-kam"].ok is False and "HTTP 403" in checks["Team team-kam"].detail
    feed = checks["Activity feed in team-kam"]
    assert feed.ok is False and "see Graph identity" in feed.detail and feed.fix == mismatch.fix
    assert {call.app for call in graph.calls} == {IDENTITY.client_id}
    assert {call.status for call in graph.calls} == {403}


def test_an_incomplete_federation_is_named_before_anything_runs(tmp_path: Path) -> None:
    env = {
        "KAMBOT_GRAPH_AUTH": "managed_identity_federation",
        "KAMBOT_TAB_SSO_CLIENT_ID": TABS_APP,
        "KAMBOT_GRAPH_TENANT_ID": TENANT,
        "PYTHONPATH": str(Path.cwd()),
    }
    result = kambot("doctor", env=env, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "KAMBOT_GRAPH_MANAGED_IDENTITY_CLIENT_ID" in result.stderr

    env["KAMBOT_GRAPH_MANAGED_IDENTITY_CLIENT_ID"] = TABS_APP
    result = kambot("doctor", env=env, cwd=tmp_path)
    assert result.returncode == 2 and "cannot be the same" in result.stderr
