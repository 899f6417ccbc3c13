"""Configuration, read once from the environment (and an optional `.env`) at start-up."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/kambot.db"


class Settings(BaseSettings):
    """Every knob of kambot. Environment variables carry the `KAMBOT_` prefix."""

    model_config = SettingsConfigDict(env_prefix="KAMBOT_", env_file=".env", extra="ignore")

    app_id: str = Field(default="", description="Bot Framework (Entra) app id; empty = local mode")
    app_password: str = Field(default="", description="Client secret of the app registration")
    app_type: Literal["MultiTenant", "SingleTenant", "UserAssignedMSI"] = "SingleTenant"
    app_tenant_id: str = Field(default="", description="Tenant of the app registration")

    database_url: str = DEFAULT_DATABASE_URL
    public_base_url: str = "http://localhost:3978"
    host: str = "0.0.0.0"
    port: int = 3978
    # The Entra tenants whose Teams traffic kambot accepts. Required outside local mode; a
    # SingleTenant or managed-identity bot defaults to its own tenant.
    allowed_tenant_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # /metrics outside local mode: on a port of its own (not behind the public ingress), or on the
    # public port for requests with `Authorization: Bearer <metrics_token>`; with neither, not served.
    metrics_port: int = Field(default=0, ge=0, le=65535)
    metrics_token: str = ""
    # Signs the data of the cards kambot sends (a form is bound to whom it was issued). Empty: a
    # random key made once and kept in the database, shared by every instance.
    card_secret: str = ""
    default_locale: str = "en"
    outbox_sweep_seconds: float = 30.0
    # How long a sender holds the outbox messages it claimed without renewing them; one that dies frees
    # them then (a living sender renews them every third of it).
    outbox_lease_seconds: float = Field(default=60.0, ge=1.0, le=3600.0)
    # How many conversations one process posts to at the same time (each conversation's messages stay in
    # order). A process killed outright may send at most this many messages again after it.
    outbox_in_flight: int = Field(default=8, ge=1, le=64)
    # False: this instance only answers requests; a `kambot worker` sends the outbox and runs the jobs.
    background_jobs: bool = True
    # The Bot Connector's requests per second per tenant, for every instance together (booked in the database).
    connector_sends_per_second: int = Field(default=50, ge=1, le=50)
    # The weekly digest: the default weekday and the hour in each member's own time zone ("off": only to those
    # who chose a day with "digest <day>").
    nudge_weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun", "off"] = "fri"
    nudge_hour: int = Field(default=14, ge=0, le=23)
    # The monthly KPI card to each KA manager and the head of KAM (kam.kpi_cards), on the first sweep of a month.
    monthly_kpi_cards: bool = True
    # Compute the steering figures of complete days at start-up and after each midnight, ahead of the first
    # portfolio or Insights page of the day (kam.kpis.KpiCache); each serving process keeps its own.
    warm_figures: bool = True
    # After-meeting nudges: members' calendars are read through Graph (application permission Calendars.ReadBasic.All)
    # for meetings with the customer that ended in the last hours; off until the admin has granted it.
    meeting_nudges: bool = False
    meeting_read_minutes: float = Field(default=15, gt=0, le=1440)
    meeting_lookback_hours: int = Field(default=4, ge=1, le=48)
    # Activity feed notifications after the 1:1 cards that ask something (acknowledge, a review's update, a
    # report), through Graph in the team of the account's channel (RSC TeamsActivity.Send.Group). Used where
    # kambot uses Graph (KAMBOT_KAM_TEAM_IDS); without the team's grant the cards go alone.
    activity_feed: bool = True
    # Requests to acknowledge that reach one person within this many seconds of the first go as one card, sent
    # then (0: at once, still one card for what waits at that moment).
    ack_batch_seconds: float = Field(default=180.0, ge=0, le=3600)
    form_max_age_days: int = 14
    rules_file: str = Field(default="", description="YAML file with the communication rules (see kam/rules.py)")
    selection_file: str = Field(
        default="",
        description="YAML file with the key account selection: criteria, weights, tiers, list review, dependency",
    )
    services_file: str = Field(
        default="",
        description="the service catalogue, YAML or Excel (kam/catalogue.py): what forms offer, what checks match",
    )

    # Endpoints of the Bot Framework's identity services. Left empty, botbuilder
    # uses the public Azure cloud; set them for sovereign clouds (or test fakes).
    auth_openid_metadata_url: str = ""
    auth_token_issuer: str = ""
    auth_login_url: str = ""
    auth_oauth_scope: str = ""

    playground_port: int = 56150

    # Traces and metrics to Application Insights (bot/telemetry.py); never in local mode. The variable's
    # name is Microsoft's, without our prefix: Azure sets it so (deploy/azure/main.bicep does too).
    applicationinsights_connection_string: str = Field(
        default="", validation_alias="APPLICATIONINSIGHTS_CONNECTION_STRING"
    )

    # Microsoft Graph, for provisioning. The identity defaults to the bot's app registration. Teams grants its
    # resource-specific permissions to the app of the package's webApplicationInfo (`sso_client_id`), so that is
    # the app to call Graph as: on Azure without a secret by `managed_identity_federation`, the app registration
    # trusting the managed identity (graph/federation.py), whose client id is `graph_managed_identity_client_id`.
    graph_auth: Literal["client_secret", "certificate", "managed_identity", "managed_identity_federation"] = (
        "client_secret"
    )
    graph_tenant_id: str = ""
    graph_client_id: str = ""
    graph_client_secret: str = ""
    graph_certificate_path: str = ""
    graph_managed_identity_client_id: str = ""
    # Entra's sign-in host for the app registration's Graph tokens (https); empty: the public cloud.
    graph_authority: str = ""
    graph_base_url: str = ""
    graph_timeout_seconds: float = Field(default=60.0, gt=0)
    kam_team_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Who may provision from the chat: Entra object ids of the IT or KAM admins.
    admin_aad_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Entra object ids of the head(s) of KAM: the portfolio, list reviews, every account's figures (kam.access).
    head_of_kam_aad_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    teams_app_id: str = ""
    channels_per_team: int = Field(default=900, ge=1, le=1000)

    # Tabs: Teams single sign-on. Tokens are issued by Entra for the app's Application ID URI.
    tab_sso_client_id: str = Field(
        default="", description="the app registration the tab tokens are for; default app_id"
    )
    tab_sso_application_id_uri: str = Field(default="", description="default api://<public host>/<client id>")
    tab_jwks_url: str = "https://login.microsoftonline.com/common/discovery/v2.0/keys"
    tab_issuer_base: str = "https://login.microsoftonline.com"
    # Local mode only: dev tokens for the Playground's users are signed with this (HS256).
    tab_dev_secret: str = ""
    provision_concurrency: int = Field(default=16, ge=1, le=64)

    # The Teams app package (`kambot package`): who publishes it and where its legal pages are.
    developer_name: str = Field(default="kambot", max_length=32)
    # The app's name in Teams, per language (at most 30 characters; the full name adds "– key account management").
    app_name_en: str = Field(default="kambot", min_length=1, max_length=30)
    app_name_de: str = Field(default="kambot", min_length=1, max_length=30)
    privacy_url: str = Field(default="", description="default <public base URL>/privacy, served by the bot")
    terms_url: str = Field(default="", description="default <public base URL>/terms, served by the bot")

    @field_validator("allowed_tenant_ids", "kam_team_ids", "admin_aad_ids", "head_of_kam_aad_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("graph_authority")
    @classmethod
    def _https_authority(cls, value: str) -> str:
        if value and not value.startswith("https://"):
            raise ValueError("Entra's sign-in host must be an https URL, e.g. https://login.microsoftonline.us")
        return value

    @model_validator(mode="after")
    def _credentials_complete(self) -> Settings:
        if self.app_id and self.app_type == "SingleTenant" and not (self.app_password and self.app_tenant_id):
            raise ValueError(
                "a SingleTenant bot needs KAMBOT_APP_PASSWORD and KAMBOT_APP_TENANT_ID besides KAMBOT_APP_ID"
            )
        if self.app_id and self.app_type == "UserAssignedMSI" and not self.app_tenant_id:
            raise ValueError("a UserAssignedMSI bot needs KAMBOT_APP_TENANT_ID besides KAMBOT_APP_ID")
        if self.app_id and not self.tenant_ids:
            raise ValueError(
                "a MultiTenant bot needs KAMBOT_ALLOWED_TENANT_IDS: the Entra tenants whose Teams may talk to it"
            )
        return self

    @model_validator(mode="after")
    def _graph_federation_complete(self) -> Settings:
        if self.graph_auth != "managed_identity_federation":
            return self
        if not self.graph_managed_identity_client_id:
            raise ValueError(
                "KAMBOT_GRAPH_AUTH=managed_identity_federation needs KAMBOT_GRAPH_MANAGED_IDENTITY_CLIENT_ID: the "
                "client id of the managed identity that the app registration's federated credential trusts"
            )
        app = self.graph_client_id or self.sso_client_id
        if not app:
            raise ValueError(
                "KAMBOT_GRAPH_AUTH=managed_identity_federation needs the app registration to call Graph as: "
                "KAMBOT_GRAPH_CLIENT_ID, or KAMBOT_TAB_SSO_CLIENT_ID (the app the package names)"
            )
        if not (self.graph_tenant_id or self.app_tenant_id):
            raise ValueError(
                "KAMBOT_GRAPH_AUTH=managed_identity_federation needs KAMBOT_GRAPH_TENANT_ID (or KAMBOT_APP_TENANT_ID)"
            )
        if app == self.graph_managed_identity_client_id:
            raise ValueError(
                "KAMBOT_GRAPH_MANAGED_IDENTITY_CLIENT_ID names the managed identity, KAMBOT_GRAPH_CLIENT_ID (default "
                "KAMBOT_TAB_SSO_CLIENT_ID) the app registration that trusts it: they cannot be the same"
            )
        return self

    @property
    def local_mode(self) -> bool:
        """No app id: accept the local emulator's unauthenticated traffic."""
        return not self.app_id

    @property
    def sso_client_id(self) -> str:
        """The app registration the tabs sign in with: the package's webApplicationInfo, whom teams grant RSC."""
        return self.tab_sso_client_id or self.app_id

    @property
    def tab_audiences(self) -> list[str]:
        """What a tab token's `aud` may be: the client id (v2 tokens) or the Application ID URI (v1)."""
        client_id = self.sso_client_id
        if not client_id:
            return []
        host = self.public_base_url.split("://", 1)[-1].split("/", 1)[0]
        return [client_id, self.tab_sso_application_id_uri or f"api://{host}/{client_id}"]

    @property
    def tenant_ids(self) -> list[str]:
        """The tenants kambot serves: the allow-list, else a single-tenant bot's own; none in local mode."""
        if self.allowed_tenant_ids:
            return list(self.allowed_tenant_ids)
        if self.app_id and self.app_type in ("SingleTenant", "UserAssignedMSI") and self.app_tenant_id:
            return [self.app_tenant_id]
        return []

    def tenant_allowed(self, tenant_id: str | None) -> bool:
        """Local mode with no list accepts any tenant (the Playground's); otherwise only those listed."""
        allowed = self.tenant_ids
        if not allowed:
            return self.local_mode
        return tenant_id in allowed
