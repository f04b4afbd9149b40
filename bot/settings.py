"""Settings: the environment contract of ARCHITECTURE.md, read once at startup.

Nothing else in the code base reads the environment. `Settings.from_env()`
is called by the composition root (bot/app.py) and by the CLI, never at import.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _section(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, extra="ignore", frozen=True)


class SlackSettings(BaseSettings):
    model_config = _section("SLACK_")
    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None  # xapp-…: Socket Mode
    api_url: str = "https://slack.com/api/"

    @property
    def configured(self) -> bool:
        return bool(self.bot_token and self.signing_secret)

    @field_validator("api_url")
    @classmethod
    def _trailing_slash(cls, v: str) -> str:
        return v if v.endswith("/") else v + "/"


class HubSettings(BaseSettings):
    model_config = _section("SWITCHBOARD_")
    database_url: str = "sqlite:///./switchboard.db"
    redis_url: str | None = None
    model: str = "offline"
    fallback_models: str = ""  # "openai:gpt-4o-mini,anthropic:claude-3-5-haiku-latest"
    policy_file: str | None = None
    dlp_digest_key: SecretStr | None = None  # keys the digests DLP stores instead of values
    webhook_secrets: SecretStr | None = None  # "source=secret,…"
    slash_command: str = "/sb"
    workers: int = Field(default=8, ge=1, le=256)  # concurrent inbox items in flight
    agent_timeout: float = Field(default=120.0, gt=0)  # seconds for one agent run
    workflow_lease: float = Field(default=60.0, gt=0)  # seconds a dead hub holds a workflow run
    log_level: str = "INFO"

    def fallback_model_specs(self) -> tuple[str, ...]:
        return tuple(s.strip() for s in self.fallback_models.split(",") if s.strip())


class OpenAISettings(BaseSettings):
    model_config = _section("OPENAI_")
    base_url: str | None = None
    api_key: SecretStr | None = None


class ServiceNowSettings(BaseSettings):
    model_config = _section("SERVICENOW_")
    url: str | None = None
    user: str | None = None
    password: SecretStr | None = None


class JiraSettings(BaseSettings):
    model_config = _section("JIRA_")
    url: str | None = None
    user: str | None = None
    token: SecretStr | None = None


class SalesforceSettings(BaseSettings):
    model_config = _section("SALESFORCE_")
    url: str | None = None
    session_id: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    domain: str = "login"


class SharePointSettings(BaseSettings):
    model_config = _section("SHAREPOINT_")
    site_url: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    access_token: SecretStr | None = None
    tenant: str | None = None


class TlsSettings(BaseSettings):
    """The private CA bundle honoured by connectors that speak https."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)
    requests_ca_bundle: str | None = None


class Settings(BaseModel):
    """All sections; build with `Settings.from_env()`, or pass sections in tests."""

    model_config = {"frozen": True}
    hub: HubSettings = Field(default_factory=HubSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    openai: OpenAISettings = Field(default_factory=OpenAISettings)
    servicenow: ServiceNowSettings = Field(default_factory=ServiceNowSettings)
    jira: JiraSettings = Field(default_factory=JiraSettings)
    salesforce: SalesforceSettings = Field(default_factory=SalesforceSettings)
    sharepoint: SharePointSettings = Field(default_factory=SharePointSettings)
    tls: TlsSettings = Field(default_factory=TlsSettings)

    @classmethod
    def from_env(cls) -> Settings:
        return cls()

    def webhook_secrets(self) -> dict[str, str]:
        """Parse `source=secret,…`; malformed pairs are reported, not ignored."""
        raw = self.hub.webhook_secrets.get_secret_value() if self.hub.webhook_secrets else ""
        out: dict[str, str] = {}
        for pair in filter(None, (p.strip() for p in raw.split(","))):
            source, sep, secret = pair.partition("=")
            if not sep or not source.strip() or not secret.strip():
                raise ValueError("SWITCHBOARD_WEBHOOK_SECRETS must look like 'source=secret,…'")
            out[source.strip()] = secret.strip()
        return out
