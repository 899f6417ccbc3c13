"""`kambot doctor` against the identity and Graph fakes: every check ✓ when all is in place, a fix for each ✗."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.admin.doctor import Check, configuration_checks, run_checks
from bot.admin.graph_access import graph_gateway
from bot.app import create_app
from bot.settings import Settings
from graph.gateway import GraphFailure
from kam.migrate import upgrade
from kam.models import Account, AccountMember, Person, Role, Tier
from kam.storage import Database
from tests.support.cli import kambot
from tests.support.fakes.graph import Channel, FakeGraphCredential, GraphFake
from tests.support.fakes.jwks import IdentityFake
from tests.support.fakes.loopback import serve_on_loopback
from tests.support.harness import local_settings

APP_ID = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
TENANT = "00000000-0000-0000-0000-0000000000001"
CATALOG_ID = "0b9f2e1d-catalog-kambot"
EVERYTHING = {"User.ReadBasic.All", "Calendars.ReadBasic.All", "TeamMember.ReadWriteNonOwnerRole.All"}


@pytest.fixture
async def graph() -> AsyncIterator[GraphFake]:
    fake = await GraphFake(bot_app_id=CATALOG_ID).start()
    fake.entra_app_id = APP_ID  # the teams' RSC grants name the app kambot calls Graph as
    fake.add_team("team-kam").installed_apps.append(CATALOG_ID)
    fake.add_user("megan@contoso.test")
    yield fake
    await fake.stop()


@pytest.fixture
async def public_url(identity: IdentityFake, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """A kambot answering /healthz over https, with a certificate the checks trust (as Teams would need)."""
    assert identity.ca_bundle is not None
    monkeypatch.setenv("SSL_CERT_FILE", str(identity.ca_bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(identity.ca_bundle))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(identity.ca_bundle, identity.ca_bundle.parent / "key.pem")
    await asyncio.to_thread(upgrade, sqlite_url)
    runner, port = await serve_on_loopback(create_app(local_settings(sqlite_url)), context)
    yield f"https://127.0.0.1:{port}"
    await runner.cleanup()


def production(
    identity: IdentityFake, graph: GraphFake, database_url: str, public_url: str, **changes: object
) -> Settings:
    values: dict[str, object] = {
        "app_id": APP_ID,
        "app_password": "client-secret",
        "app_tenant_id": TENANT,
        "auth_login_url": identity.login_url,
        "auth_oauth_scope": "https://api.botframework.test/.default",
        "public_base_url": public_url,
        "graph_base_url": f"{graph.url}/v1.0",
        "kam_team_ids": ["team-kam"],
        "teams_app_id": CATALOG_ID,
        "meeting_nudges": True,
        **changes,
    }
    return local_settings(database_url, **values)


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


async def test_a_complete_installation_passes_every_check(
    identity: IdentityFake, graph: GraphFake, sqlite_url: str, public_url: str
) -> None:
    issued = len(identity.issued_tokens)
    checks = await run_checks(production(identity, graph, sqlite_url, public_url), FakeGraphCredential(EVERYTHING))
    assert [(c.name, c.detail) for c in checks if c.ok is not True] == []
    found = by_name(checks)
    assert found["Bot credentials"].detail == "token for the Bot Connector acquired"
    assert len(identity.issued_tokens) == issued + 1, "the token came from Entra (the fake), as the bot's would"
    assert found["Graph: Calendars.ReadBasic.All"].ok and found["Graph: User.ReadBasic.All"].ok
    assert found["Team team-kam"].detail == "kambot installed, 1 channel(s) readable"
    assert found["Activity feed in team-kam"].detail == f"TeamsActivity.Send.Group granted to kambot ({APP_ID})"
    assert found["Database schema"].ok and found["Reachable"].detail.endswith("/healthz answers")
    assert found["Tenants"].detail == f"{TENANT} (the bot's own tenant)"
    assert found["Metrics"].detail.startswith("not served")


async def test_the_doctor_lists_the_allowed_tenants_and_how_metrics_are_served(
    identity: IdentityFake, graph: GraphFake, sqlite_url: str, public_url: str
) -> None:
    tenants = [TENANT, "00000000-0000-0000-0000-00000000abcd"]
    settings = production(identity, graph, sqlite_url, public_url, allowed_tenant_ids=tenants, metrics_port=9464)
    found = by_name(configuration_checks(settings))
    assert found["Tenants"].ok and found["Tenants"].detail == f"{', '.join(tenants)} (KAMBOT_ALLOWED_TENANT_IDS)"
    assert found["Metrics"].ok and "own port 9464" in found["Metrics"].detail


async def test_missing_permissions_access_schema_and_reachability_each_get_their_fix(
    identity: IdentityFake, graph: GraphFake, tmp_path: Path, public_url: str
) -> None:
    graph.add_team("team-locked")
    graph.locked_teams.add("team-locked")
    graph.add_team("team-without-kambot")
    empty = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    await asyncio.to_thread(upgrade, empty, "0009")
    settings = production(
        identity,
        graph,
        empty,
        "https://127.0.0.1:1",
        kam_team_ids=["team-kam", "team-locked", "team-without-kambot", "team-gone"],
    )
    checks = by_name(await run_checks(settings, FakeGraphCredential(set())))

    consent = f"https://login.microsoftonline.com/{TENANT}/adminconsent?client_id={APP_ID}"
    for permission in ("User.ReadBasic.All", "Calendars.ReadBasic.All"):
        check = checks[f"Graph: {permission}"]
        assert check.ok is False and check.detail.startswith("not granted")
        assert (
            check.fix == f"add {permission} (Application) to the app registration, then grant admin consent: {consent}"
        )
    assert checks["Team team-kam"].ok is True
    assert checks["Team team-locked"].ok is False and "HTTP 403" in checks["Team team-locked"].detail
    assert "Add to a team" in checks["Team team-locked"].fix
    assert checks["Team team-without-kambot"].detail.endswith("kambot not installed")
    assert checks["Team team-gone"].detail == "no such team"
    assert checks["Database schema"].ok is False and checks["Database schema"].fix == "kambot db upgrade"
    assert checks["Reachable"].ok is False and "https://127.0.0.1:1/healthz" in checks["Reachable"].detail

    # What doctor reads in the token is what Graph enforces: without the permission, the call is refused.
    gateway = graph_gateway(settings, FakeGraphCredential(set()))
    with pytest.raises(GraphFailure) as refused:
        await gateway.user_id("megan@contoso.test")
    assert refused.value.status == 403
    assert await graph_gateway(settings, FakeGraphCredential(EVERYTHING)).user_id("megan@contoso.test")


async def test_the_doctor_checks_kambot_can_post_in_each_confidential_channel_and_reach_each_team_member(
    identity: IdentityFake, graph: GraphFake, sqlite_url: str, public_url: str
) -> None:
    team = graph.teams["team-kam"]
    shared = Channel("19:shared@thread.tacv2", "North", "shared", enabled_apps=[CATALOG_ID])
    private = Channel("19:private@thread.tacv2", "South", "private")
    bare = Channel("19:bare@thread.tacv2", "East", "shared")
    for channel in (shared, private, bare):
        team.channels[channel.id] = channel
    megan = graph.user_id("megan@contoso.test")
    adele = graph.add_user("adele@contoso.test", "Adele Vance")
    team.members[megan] = []
    db = Database(sqlite_url)
    async with db.transaction() as session:
        people = [Person(aad_object_id=megan, name="Megan Bowen"), Person(aad_object_id=adele, name="Adele Vance")]
        for name, channel in (("North", shared), ("South", private), ("East", bare)):
            session.add(
                Account(
                    name=name,
                    tier=Tier.STRATEGIC_KEY_ACCOUNT,
                    confidential=True,
                    team_id="team-kam",
                    channel_id=channel.id,
                    members=[
                        AccountMember(person=p, role=Role.MANAGER if i == 0 else Role.MEMBER)
                        for i, p in enumerate(people)
                    ],
                )
            )
    await db.close()
    roles = {"User.ReadBasic.All", "TeamsAppInstallation.ManageSelectedForTeam.All"}
    checks = by_name(await run_checks(production(identity, graph, sqlite_url, public_url), FakeGraphCredential(roles)))
    confidential = checks["Confidential channels"]
    assert confidential.ok is False and "kambot provision" in confidential.fix
    assert "South: a private channel" in confidential.detail and "East: kambot is not added" in confidential.detail
    assert "North" not in confidential.detail
    members = checks["Team members"]
    assert members.ok is False and "Adele Vance (North)" in members.detail and "Megan" not in members.detail
    assert "TeamMember.ReadWriteNonOwnerRole.All" in members.fix
    assert checks["Graph: TeamMember.ReadWriteNonOwnerRole.All"].ok is None, "optional: reported instead"
    assert checks["Graph: TeamsAppInstallation.ManageSelectedForTeam.All"].ok is True

    private.membership, private.enabled_apps, bare.enabled_apps = "shared", [CATALOG_ID], [CATALOG_ID]
    team.members[adele] = []
    roles |= {"TeamMember.ReadWriteNonOwnerRole.All"}
    checks = by_name(await run_checks(production(identity, graph, sqlite_url, public_url), FakeGraphCredential(roles)))
    assert checks["Confidential channels"].ok and checks["Confidential channels"].detail.startswith("3 shared")
    assert checks["Team members"].ok and checks["Graph: TeamMember.ReadWriteNonOwnerRole.All"].ok


async def test_an_expired_bot_secret_is_named_with_its_fix(
    identity: IdentityFake, graph: GraphFake, sqlite_url: str, public_url: str
) -> None:
    identity.expired_secrets.add("expired-secret")
    settings = production(identity, graph, sqlite_url, public_url, app_password="expired-secret")
    check = by_name(await run_checks(settings, FakeGraphCredential(EVERYTHING)))["Bot credentials"]
    assert check.ok is False and "AADSTS7000222" in check.detail
    assert check.fix.startswith("check KAMBOT_APP_PASSWORD (the client secret may have expired)")


def test_kambot_doctor_prints_a_table_and_fails_while_anything_is_missing(tmp_path: Path) -> None:
    env = {
        "KAMBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'kambot.db'}",
        "KAMBOT_PUBLIC_BASE_URL": "http://127.0.0.1:1",
        "PYTHONPATH": str(Path.cwd()),
        "COLUMNS": "200",
    }
    result = kambot("doctor", env=env, cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = {line.split("│")[2].strip(): line for line in result.stdout.splitlines() if line.count("│") >= 4}
    assert "✗" in lines["Bot identity"] and "local mode" in lines["Bot identity"]
    assert "✗" in lines["Database"] and "kambot db upgrade" in lines["Database"]
    assert "–" in lines["Microsoft Graph"]
    assert "check(s) failed: see the fix column" in result.stderr
    assert not (tmp_path / "kambot.db").exists(), "doctor looks, it creates nothing"
