"""The managed identity endpoint of Azure Container Apps (and App Service), on loopback.

Azure gives the container `IDENTITY_ENDPOINT` (a local http URL) and `IDENTITY_HEADER` (a secret to send
back as `X-IDENTITY-HEADER`); azure-identity's ManagedIdentityCredential asks it `GET ?api-version=2019-08-01
&resource=...&client_id=...` for a user-assigned identity's token. The tokens are the identity fake's, so that
its token endpoint can verify them when they come back as a client assertion. A Graph token names the identity
as the app calling (`appid`), with the application permissions granted to the identity.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from aiohttp import web

from tests.support.fakes.graph import access_token as graph_access_token
from tests.support.fakes.jwks import IdentityFake
from tests.support.fakes.loopback import LoopbackServer

GRAPH_RESOURCE = "https://graph.microsoft.com"


@dataclass(frozen=True)
class AssignedIdentity:
    client_id: str
    principal_id: str  # its object id: the subject of its tokens
    graph_roles: frozenset[str] = frozenset()  # Graph application permissions granted to it


@dataclass
class ManagedIdentityFake(LoopbackServer):
    identity: IdentityFake
    tenant: str
    assigned: list[AssignedIdentity] = field(default_factory=list)  # the container's user-assigned identities
    secret: str = field(default_factory=lambda: uuid.uuid4().hex)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (client id, resource) of each token served
    url: str = ""

    @property
    def environment(self) -> dict[str, str]:
        """What Azure sets in the container."""
        return {"IDENTITY_ENDPOINT": self.url, "IDENTITY_HEADER": self.secret}

    async def _token(self, request: web.Request) -> web.Response:
        if request.headers.get("X-IDENTITY-HEADER") != self.secret:
            return _error(401, "The X-IDENTITY-HEADER is missing or not valid.")
        if request.query.get("api-version") != "2019-08-01" or not request.query.get("resource"):
            return _error(400, "api-version 2019-08-01 and a resource are required.")
        client_id, resource = request.query.get("client_id", ""), request.query["resource"]
        identity = next((i for i in self.assigned if i.client_id == client_id), None)
        if identity is None:
            return _error(400, "No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId.")
        if resource == GRAPH_RESOURCE:
            token = graph_access_token(set(identity.graph_roles), identity.client_id, self.tenant)
        else:
            token = self.identity.managed_identity_token(self.tenant, identity.client_id, identity.principal_id, resource)
        self.requests.append((client_id, resource))
        expires_on = int(time.time()) + 24 * 3600
        return web.json_response(
            {
                "access_token": token,
                "expires_on": str(expires_on),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": identity.client_id,
            }
        )

    async def start(self) -> ManagedIdentityFake:
        app = web.Application()
        app.router.add_get("/msi/token", self._token)
        self.url = await self._listen(app) + "/msi/token"
        return self


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"statusCode": status, "message": message, "correlationId": str(uuid.uuid4())}, status)
