"""Provisioning, as the CLI and the admins' chat command start it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from azure.core.credentials_async import AsyncTokenCredential

from bot.settings import Settings

if TYPE_CHECKING:
    from graph.provisioning import Provisioner


def provisioning_problems(settings: Settings) -> list[str]:
    problems = []
    if not settings.kam_team_ids:
        problems.append(
            "KAMBOT_KAM_TEAM_IDS: name the team(s) that hold the account channels (group ids, comma-separated)"
        )
    if not settings.teams_app_id:
        problems.append("KAMBOT_TEAMS_APP_ID: the id of kambot in the tenant's app catalog (for installs and tabs)")
    if not settings.public_base_url.startswith("https://"):
        problems.append("KAMBOT_PUBLIC_BASE_URL: Teams loads tabs only over https")
    if settings.graph_auth != "managed_identity" and not (settings.graph_tenant_id or settings.app_tenant_id):
        problems.append("KAMBOT_GRAPH_TENANT_ID (or KAMBOT_APP_TENANT_ID): the tenant to provision")
    return problems


def build_provisioner(settings: Settings, credential: AsyncTokenCredential | None = None) -> Provisioner:
    """The provisioner for the configured tenant; `credential` replaces the configured identity."""
    from graph.client import make_client, make_credential
    from graph.gateway import TeamsGateway
    from graph.provisioning import Provisioner, ProvisioningConfig
    from kam.storage import Database

    credential = credential or make_credential(
        settings.graph_auth,
        tenant_id=settings.graph_tenant_id or settings.app_tenant_id,
        client_id=settings.graph_client_id or settings.app_id,
        client_secret=settings.graph_client_secret or settings.app_password,
        certificate_path=settings.graph_certificate_path,
    )
    config = ProvisioningConfig(
        team_ids=settings.kam_team_ids,
        app_id=settings.teams_app_id,
        tab_base_url=settings.public_base_url,
        channels_per_team=settings.channels_per_team,
        concurrency=settings.provision_concurrency,
    )
    gateway = TeamsGateway(make_client(credential, settings.graph_base_url, settings.graph_timeout_seconds))
    return Provisioner(gateway, Database(settings.database_url), config)
