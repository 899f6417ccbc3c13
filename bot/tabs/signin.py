"""Who is looking at a tab: the Teams single sign-on token, validated on the server.

Teams hands the tab page an Entra access token for kambot (`getAuthToken`); the
page sends it with every data request. We check its signature against Entra's
published keys, its issuer (Entra, for the token's own tenant), its audience
(kambot's app), its lifetime and the tenant allow-list; then the user is the
token's `oid`. In local mode (no app id) dev tokens signed with a local secret
stand in for the Agents Playground's users, which have no Entra behind them.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt

from bot.settings import Settings
from kam.storage import no_transaction_open

DEV_ISSUER = "kambot-dev"
DEV_AUDIENCE = "kambot-tabs"
KEYS_REFRESH_SECONDS = 300  # an unknown key id makes us fetch the keys again, at most this often
LEEWAY_SECONDS = 60


class NotSignedIn(Exception):
    """No token, or one we do not accept: the page gets 401 and no data."""


@dataclass(frozen=True)
class TabUser:
    aad_object_id: str
    tenant_id: str
    name: str


class TabTokens:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._dev_secret = settings.tab_dev_secret or (secrets.token_urlsafe(32) if settings.local_mode else "")
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None  # never: monotonic time starts near 0 on a fresh machine
        self._lock = asyncio.Lock()

    def dev_token(self, aad_object_id: str, tenant_id: str, name: str, lifetime_seconds: int = 8 * 3600) -> str:
        """A token for a Playground user (local mode only)."""
        if not self._settings.local_mode:
            raise NotSignedIn("dev tokens exist in local mode only")
        now = int(time.time())
        claims = {
            "iss": DEV_ISSUER,
            "aud": DEV_AUDIENCE,
            "oid": aad_object_id,
            "tid": tenant_id,
            "name": name,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime_seconds,
        }
        return jwt.encode(claims, self._dev_secret, algorithm="HS256")

    async def user_of(self, authorization: str | None) -> TabUser:
        if not authorization or not authorization.startswith("Bearer "):
            raise NotSignedIn("no bearer token")
        token = authorization[7:].strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise NotSignedIn("not a token") from None
        if header.get("alg") == "HS256" and self._settings.local_mode:
            claims = self._decode(token, self._dev_secret, ["HS256"], [DEV_AUDIENCE], DEV_ISSUER)
        elif header.get("alg") == "RS256" and self._settings.tab_audiences:
            key = await self._key(str(header.get("kid", "")))
            claims = self._decode(token, key, ["RS256"], self._settings.tab_audiences, None)
            tenant = str(claims.get("tid", ""))
            base = self._settings.tab_issuer_base.rstrip("/")
            if claims.get("iss") not in (f"{base}/{tenant}/v2.0", f"https://sts.windows.net/{tenant}/"):
                raise NotSignedIn("wrong issuer")
        else:
            raise NotSignedIn("unexpected kind of token")
        if not self._settings.tenant_allowed(str(claims["tid"])):
            raise NotSignedIn("tenant not allowed")
        return TabUser(str(claims["oid"]), str(claims["tid"]), str(claims.get("name") or ""))

    @staticmethod
    def _decode(
        token: str, key: Any, algorithms: list[str], audiences: list[str], issuer: str | None
    ) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=audiences,
                issuer=issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "aud", "iss", "oid", "tid"]},
            )
        except jwt.PyJWTError as error:
            raise NotSignedIn(str(error)) from None

    async def _key(self, kid: str) -> Any:
        key = self._keys.get(kid)
        if key is not None:
            return key
        async with self._lock:
            fetched_at = self._fetched_at
            if kid not in self._keys and (fetched_at is None or self._clock() - fetched_at > KEYS_REFRESH_SECONDS):
                self._keys = await self._fetch_keys()
                self._fetched_at = self._clock()
        if kid not in self._keys:
            raise NotSignedIn("unknown signing key")
        return self._keys[kid]

    async def _fetch_keys(self) -> dict[str, Any]:
        no_transaction_open("fetching Entra's signing keys")
        try:
            timeout = aiohttp.ClientTimeout(total=10)
            async with aiohttp.ClientSession(timeout=timeout) as http, http.get(self._settings.tab_jwks_url) as answer:
                answer.raise_for_status()
                document = await answer.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            raise NotSignedIn("the signing keys cannot be fetched") from None
        keys = {}
        for entry in document.get("keys", []) if isinstance(document, dict) else []:
            try:
                keys[str(entry["kid"])] = jwt.PyJWK(entry).key
            except (KeyError, jwt.PyJWTError):
                continue
        return keys
