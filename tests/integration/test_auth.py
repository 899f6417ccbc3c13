"""With an app id set, /api/messages accepts only Bot Framework tokens that botbuilder can verify."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.fakes.connector import ConnectorFake
from tests.support.fakes.jwks import ISSUER, IdentityFake
from tests.support.harness import RunningBot, local_settings, migrate_and_seed
from tests.support.teams import TENANT_ID

APP_ID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
async def secured_bot(
    identity: IdentityFake, sqlite_url: str, connector: ConnectorFake, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningBot]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(identity.ca_bundle))
    connector.require_token = identity.issued
    await migrate_and_seed(sqlite_url)
    settings = local_settings(
        sqlite_url,
        app_id=APP_ID,
        app_password="test-secret",
        app_type="MultiTenant",
        allowed_tenant_ids=TENANT_ID,
        auth_openid_metadata_url=identity.metadata_url,
        auth_token_issuer=ISSUER,
        auth_login_url=identity.login_url,
        auth_oauth_scope="https://api.botframework.test/.default",
    )
    bot = await RunningBot(settings, connector).start()
    yield bot
    await bot.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_request_signed_by_the_channel_is_answered_with_an_authenticated_reply(
    secured_bot: RunningBot, identity: IdentityFake, connector: ConnectorFake
) -> None:
    activity = secured_bot.teams.message("help")
    token = identity.channel_token(APP_ID, activity["serviceUrl"])
    reply = await secured_bot.send(activity, headers=bearer(token))
    assert reply.status in (200, 201)
    answer = connector.in_conversation("a:personal-alex")
    assert len(answer) == 1 and answer[0].cards, "the bot answered"
    assert identity.issued(answer[0].authorization.removeprefix("Bearer ")), "with a token from the token endpoint"


@pytest.mark.parametrize(
    "make_header",
    [
        pytest.param(lambda identity, url: {}, id="no token"),
        pytest.param(lambda identity, url: {"Authorization": "Bearer not-a-jwt"}, id="garbage"),
        pytest.param(
            lambda identity, url: bearer(identity.channel_token(APP_ID, url, exp=int(time.time()) - 3600)), id="expired"
        ),
        pytest.param(lambda identity, url: bearer(identity.channel_token("someone-else", url)), id="wrong audience"),
        pytest.param(
            lambda identity, url: bearer(identity.channel_token(APP_ID, url, iss="https://evil.example")),
            id="wrong issuer",
        ),
        pytest.param(
            lambda identity, url: bearer(identity.channel_token(APP_ID, "https://evil.example/")),
            id="wrong service url",
        ),
        pytest.param(
            lambda identity, url: bearer(
                identity.sign(
                    {"iss": ISSUER, "aud": APP_ID, "serviceurl": url, "exp": int(time.time()) + 600},
                    key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
                )
            ),
            id="forged signature",
        ),
    ],
)
async def test_requests_without_a_valid_token_get_401_and_no_answer(
    secured_bot: RunningBot,
    identity: IdentityFake,
    connector: ConnectorFake,
    make_header,  # type: ignore[no-untyped-def]
) -> None:
    activity = secured_bot.teams.message("log contact")
    reply = await secured_bot.send(activity, headers=make_header(identity, activity["serviceUrl"]))
    assert reply.status == 401
    assert connector.recorded == []
