"""Graph as an app registration that trusts a managed identity: no secret, and the app Teams' grants name.

Teams gives a team's resource-specific consent (RSC) to the Entra app that the package's `webApplicationInfo`
names, and Graph honours it only for calls made as that app. A managed identity cannot be that app (it cannot
expose an API for the tabs' single sign-on), so kambot calls Graph as the app registration, which holds a
federated identity credential trusting the managed identity: the identity's token for the audience
`api://AzureADTokenExchange` is the client assertion of the app's client-credentials flow.

azure-identity asks for that assertion through a synchronous callable. Fetching the identity's token there would
block the event loop, so `get_token` fetches it first, asynchronously, and the callable hands it over. Both
credentials cache their tokens as azure-identity does: the identity's token is a cache hit until it is near its
end, and the app's token is asked of Entra only when it must be.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from azure.core.credentials import AccessToken

# The audience of the managed identity's token that Entra exchanges (its global service; the US Government and
# China clouds have their own, which kambot does not use).
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"


class ManagedIdentityFederation:
    """An azure-identity style async credential: tokens for `client_id`, proven by the managed identity."""

    def __init__(
        self, tenant_id: str, client_id: str, managed_identity_client_id: str, *, authority: str | None = None
    ) -> None:
        from azure.identity.aio import ClientAssertionCredential, ManagedIdentityCredential

        self.client_id = client_id
        self._identity = ManagedIdentityCredential(client_id=managed_identity_client_id)
        self._assertion = ""
        self._app = ClientAssertionCredential(tenant_id, client_id, self._fetched_assertion, authority=authority)

    def _fetched_assertion(self) -> str:
        return self._assertion

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        identity_token = await self._identity.get_token(f"{TOKEN_EXCHANGE_AUDIENCE}/.default")
        self._assertion = identity_token.token
        return await self._app.get_token(*scopes, claims=claims, tenant_id=tenant_id, enable_cae=enable_cae, **kwargs)

    async def close(self) -> None:
        try:
            await self._app.close()
        finally:
            await self._identity.close()

    async def __aenter__(self) -> ManagedIdentityFederation:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.close()
