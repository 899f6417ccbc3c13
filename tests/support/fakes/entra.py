"""An Entra ID fake for tab single sign-on: the signing keys Teams' tokens are checked against, and the tokens.

A real aiohttp server on loopback serving a JWKS document (like Entra's
discovery keys endpoint); `token()` signs what `getAuthToken` would hand a tab.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.support.fakes.loopback import LoopbackServer

CLIENT_ID = "11111111-2222-3333-4444-555555555555"


@dataclass
class EntraFake(LoopbackServer):
    key_id: str = "entra-key-1"
    url: str = ""

    def __post_init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.fetches = 0

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/common/discovery/v2.0/keys"

    def token(self, oid: str, tenant: str, *, key: rsa.RSAPrivateKey | None = None, **overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "aud": CLIENT_ID,
            "iss": f"{self.url}/{tenant}/v2.0",
            "tid": tenant,
            "oid": oid,
            "name": "Someone",
            "scp": "access_as_user",
            "ver": "2.0",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
        }
        claims.update(overrides)
        return jwt.encode(claims, key or self._key, algorithm="RS256", headers={"kid": self.key_id})

    async def _keys(self, _request: web.Request) -> web.Response:
        self.fetches += 1
        jwk = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.key_id, "use": "sig"})
        return web.json_response({"keys": [jwk]})

    async def start(self) -> EntraFake:
        app = web.Application()
        app.router.add_get("/common/discovery/v2.0/keys", self._keys)
        self.url = await self._listen(app)
        return self
