"""An identity fake: OpenID metadata, a JWKS with a test signing key, and a token endpoint.

Inbound, it plays the Bot Framework's token service, so that requests the tests
sign with its key pass botbuilder's real JWT validation and forged ones fail.
Outbound, it plays Entra ID's token endpoint for the bot's client credentials, and
for an app registration's client credentials proven by a managed identity's token
(workload identity federation): it checks the assertion against the app's federated
credentials (issuer, subject, audience) and refuses a mismatch as Entra does. The
managed identity's tokens are its own (`managed_identity_token`, served to the app by
the managed identity endpoint fake). MSAL and azure-identity only talk to https
authorities, so the fake serves TLS with a certificate it makes for 127.0.0.1; tests
point REQUESTS_CA_BUNDLE (MSAL) or SSL_CERT_FILE (a new process's aiohttp) at it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

from tests.support.fakes.graph import access_token as graph_access_token
from tests.support.fakes.loopback import LoopbackServer

ISSUER = "https://api.botframework.test"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_EXCHANGE = "api://AzureADTokenExchange"  # the audience of a managed identity's token Entra exchanges
GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default"


@dataclass(frozen=True)
class FederatedCredential:
    """A federated identity credential on an app registration: whose tokens Entra takes as the app's proof."""

    issuer: str
    subject: str  # for a managed identity: its object (principal) id
    audiences: tuple[str, ...] = (TOKEN_EXCHANGE,)


@dataclass
class AppRegistration:
    roles: set[str] = field(default_factory=set)  # Graph application permissions granted with admin consent
    federated: list[FederatedCredential] = field(default_factory=list)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass
class IdentityFake(LoopbackServer):
    key_id: str = "test-key-1"
    endorsements: tuple[str, ...] = ("msteams",)
    issued_tokens: list[str] = field(default_factory=list)
    expired_secrets: set[str] = field(default_factory=set)  # answered as Entra answers an expired client secret
    apps: dict[str, AppRegistration] = field(default_factory=dict)  # app registrations by client id
    exchanges: list[str] = field(default_factory=list)  # client ids whose federated token requests succeeded
    base_url: str = ""
    ca_bundle: Path | None = None

    def __post_init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/v1/.well-known/openidconfiguration"

    @property
    def login_url(self) -> str:
        """An authority MSAL accepts without asking Microsoft's instance discovery ("adfs" style)."""
        return f"{self.base_url}/adfs"

    def sign(self, claims: dict[str, Any], *, key: rsa.RSAPrivateKey | None = None, kid: str | None = None) -> str:
        return jwt.encode(claims, key or self._key, algorithm="RS256", headers={"kid": kid or self.key_id})

    def channel_token(self, audience: str, service_url: str, **overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": audience,
            "serviceurl": service_url,
            "nbf": now - 60,
            "exp": now + 3600,
            "iat": now,
        }
        claims.update(overrides)
        return self.sign(claims)

    def issued(self, token: str) -> bool:
        return token in self.issued_tokens

    def tenant_issuer(self, tenant: str) -> str:
        """The issuer of the tenant's tokens (for Entra https://login.microsoftonline.com/{tenant}/v2.0): a managed
        identity's tokens carry it, and a federated credential trusting the identity names it."""
        return f"{self.base_url}/{tenant}/v2.0"

    def managed_identity_token(self, tenant: str, client_id: str, principal_id: str, audience: str) -> str:
        """A user-assigned managed identity's token, as Entra issues it to the identity's host."""
        now = int(time.time())
        claims = {
            "iss": self.tenant_issuer(tenant),
            "sub": principal_id,
            "oid": principal_id,
            "aud": audience,
            "azp": client_id,
            "appid": client_id,
            "tid": tenant,
            "idtyp": "app",
            "iat": now,
            "nbf": now,
            "exp": now + 24 * 3600,
        }
        return self.sign(claims)

    async def _openid(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": ISSUER,
                "jwks_uri": f"{self.base_url}/v1/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _keys(self, _request: web.Request) -> web.Response:
        jwk = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.key_id, "use": "sig", "endorsements": list(self.endorsements)})
        return web.json_response({"keys": [jwk]})

    async def _authority(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": f"{self.base_url}/adfs",
                "authorization_endpoint": f"{self.base_url}/adfs/oauth2/authorize",
                "token_endpoint": f"{self.base_url}/adfs/oauth2/token",
            }
        )

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") == "client_credentials" and form.get("client_assertion_type") == JWT_BEARER:
            return self._federated_token(request.match_info.get("tenant", ""), form)
        if form.get("grant_type") != "client_credentials" or not form.get("client_secret"):
            return web.json_response({"error": "invalid_client"}, status=401)
        if form.get("client_secret") in self.expired_secrets:
            description = "AADSTS7000222: The provided client secret keys for app are expired."
            return web.json_response({"error": "invalid_client", "error_description": description}, status=401)
        token = f"outbound-{uuid.uuid4().hex}"
        self.issued_tokens.append(token)
        return web.json_response({"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def _federated_token(self, tenant: str, form: Any) -> web.Response:
        """Client credentials proven by another identity's token (workload identity federation), checked as Entra
        checks it: the assertion signed by a trusted issuer and matching one of the app's federated credentials."""
        client_id = str(form.get("client_id", ""))
        app = self.apps.get(client_id)
        if app is None:
            return _entra_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{tenant}'.",
            )
        try:
            claims = jwt.decode(
                str(form.get("client_assertion", "")),
                self._key.public_key(),
                algorithms=["RS256"],
                options={"verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            return _entra_error(401, "invalid_client", 700024, "Client assertion is not within its valid time range.")
        except jwt.PyJWTError:
            return _entra_error(401, "invalid_client", 700027, "Client assertion failed signature validation.")
        issuer, subject, audience = claims.get("iss"), claims.get("sub"), claims.get("aud")
        check = "Please check your federated identity credential Subject, Audience and Issuer against the presented"
        check += " assertion."
        by_issuer = [c for c in app.federated if c.issuer == issuer]
        if not by_issuer:
            text = f"No matching federated identity record found for presented assertion issuer '{issuer}'. {check}"
            return _entra_error(401, "invalid_client", 700211, text)
        by_subject = [c for c in by_issuer if c.subject == subject]
        if not by_subject:
            text = f"No matching federated identity record found for presented assertion subject '{subject}'. {check}"
            return _entra_error(401, "invalid_client", 700213, text)
        if not any(audience in c.audiences for c in by_subject):
            text = f"No matching federated identity record found for presented assertion audience '{audience}'. {check}"
            return _entra_error(401, "invalid_client", 700212, text)
        if form.get("scope") != GRAPH_DEFAULT_SCOPE:
            text = f"The provided value for scope {form.get('scope')} is not valid."
            return _entra_error(400, "invalid_scope", 70011, text)
        self.exchanges.append(client_id)
        token = graph_access_token(app.roles, client_id, tenant)
        body = {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}
        return web.json_response(body)

    async def start(self) -> IdentityFake:
        folder = Path(tempfile.mkdtemp(prefix="identity-fake-"))
        cert, key = _self_signed(folder)
        self.ca_bundle = cert
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        app = web.Application()
        app.router.add_get("/v1/.well-known/openidconfiguration", self._openid)
        app.router.add_get("/v1/keys", self._keys)
        app.router.add_get("/adfs/.well-known/openid-configuration", self._authority)
        app.router.add_post("/adfs/oauth2/token", self._token)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        self.base_url = await self._listen(app, context)
        return self


def _entra_error(status: int, error: str, code: int, text: str) -> web.Response:
    """Entra's error body: the AADSTS code leads the description, followed by the request's ids."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {text} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {now}",
        "error_codes": [code],
        "timestamp": now,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }
    return web.json_response(body, status=status)
