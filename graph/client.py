"""Building the Graph client: msgraph-sdk with an azure-identity credential."""

from __future__ import annotations

from typing import Literal

import httpx
from azure.core.credentials_async import AsyncTokenCredential
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from kiota_http.middleware.options import RetryHandlerOption
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph_core import GraphClientFactory

from graph.federation import ManagedIdentityFederation

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
CredentialKind = Literal["client_secret", "certificate", "managed_identity", "managed_identity_federation"]


def make_credential(
    kind: CredentialKind,
    *,
    tenant_id: str,
    client_id: str,
    client_secret: str = "",
    certificate_path: str = "",
    managed_identity_client_id: str = "",
    authority: str = "",
) -> AsyncTokenCredential:
    """The app's identity for Graph, chosen by configuration.

    `authority`: Entra's sign-in host for the app registration's tokens; empty for the public cloud.
    """
    from azure.identity.aio import CertificateCredential, ClientSecretCredential, ManagedIdentityCredential

    host = {"authority": authority} if authority else {}
    if kind == "client_secret":
        return ClientSecretCredential(tenant_id, client_id, client_secret, **host)
    if kind == "certificate":
        return CertificateCredential(tenant_id, client_id, certificate_path, **host)
    if kind == "managed_identity_federation":
        return ManagedIdentityFederation(tenant_id, client_id, managed_identity_client_id, authority=authority or None)
    return ManagedIdentityCredential(client_id=client_id or None)


def make_client(
    credential: AsyncTokenCredential,
    base_url: str = "",
    timeout_seconds: float = 60.0,
    scopes: tuple[str, ...] = (GRAPH_SCOPE,),
) -> GraphServiceClient:
    """A client for the public cloud, or for another Graph endpoint (sovereign clouds, the test fake).

    `scopes`: the app's granted permissions by default; a signed-in admin's delegated ones otherwise.
    """
    hosts = [base_url.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0]] if base_url else None
    provider = AzureIdentityAuthenticationProvider(credential, scopes=list(scopes), allowed_hosts=hosts or [])
    # The gateway retries, paced under Graph's limits; the SDK's own retries would not be.
    no_retries = {RetryHandlerOption.get_key(): RetryHandlerOption(max_retries=0, should_retry=False)}
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(timeout=timeout_seconds), options=no_retries
    )
    adapter = GraphRequestAdapter(provider, client=http)
    if base_url:
        adapter.base_url = base_url.rstrip("/")
    return GraphServiceClient(request_adapter=adapter)
