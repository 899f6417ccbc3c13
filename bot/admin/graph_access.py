"""The app's way into Microsoft Graph: the configured identity, one client, paced calls.

msgraph-sdk takes seconds to import, so it is imported only when Graph is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from azure.core.credentials_async import AsyncTokenCredential

from bot.settings import Settings

if TYPE_CHECKING:
    from graph.gateway import TeamsGateway


def graph_gateway(
    settings: Settings,
    credential: AsyncTokenCredential | None = None,
    on_throttled: Callable[[], None] | None = None,
    scopes: tuple[str, ...] | None = None,
) -> TeamsGateway:
    """A gateway for the configured tenant; `credential` replaces the configured identity (tests: the fake's)."""
    from graph.client import GRAPH_SCOPE, make_client
    from graph.gateway import TeamsGateway

    client = make_client(
        credential or graph_credential(settings),
        settings.graph_base_url,
        settings.graph_timeout_seconds,
        scopes or (GRAPH_SCOPE,),
    )
    return TeamsGateway(client, on_throttled=on_throttled)


def graph_credential(settings: Settings) -> AsyncTokenCredential:
    """The configured identity for Graph: the bot's app registration unless KAMBOT_GRAPH_* name another."""
    from graph.client import make_credential

    return make_credential(
        settings.graph_auth,
        tenant_id=graph_tenant(settings),
        client_id=graph_client_id(settings),
        client_secret=settings.graph_client_secret or settings.app_password,
        certificate_path=settings.graph_certificate_path,
        managed_identity_client_id=settings.graph_managed_identity_client_id,
        authority=settings.graph_authority,
    )


def graph_tenant(settings: Settings) -> str:
    return settings.graph_tenant_id or settings.app_tenant_id


def graph_client_id(settings: Settings) -> str:
    """The app kambot calls Graph as, as configured; federated with a managed identity, by default the app the
    package names (webApplicationInfo), to whom teams grant their resource-specific permissions."""
    if settings.graph_client_id:
        return settings.graph_client_id
    if settings.graph_auth == "managed_identity_federation":
        return settings.sso_client_id
    return settings.app_id
