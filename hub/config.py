"""Configuration from the environment (``HUB_`` prefix) with pydantic-settings."""

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

VAR_DIR = Path("var")


class Mode(StrEnum):
    DEMO = "demo"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Everything an operator can set. Defaults give the embedded demo."""

    model_config = SettingsConfigDict(env_prefix="HUB_", env_file=".env", extra="ignore")

    mode: Mode = Mode.DEMO
    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{VAR_DIR / 'hub.sqlite3'}",
        description="SQLAlchemy URL; postgresql+psycopg://… in production.",
    )
    redis_url: str | None = Field(default=None, description="Unset: jobs run in-process.")
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = Field(default=None, description="Base URL clients see; issuer.")
    token_key_file: Path = VAR_DIR / "token-signing-key.pem"
    token_lifetime_seconds: int = 900
    page_size_default: int = 50
    page_size_max: int = 500
    sql_echo: bool = False
    # What one GraphQL request may ask (hub.schema.guards), refused before anything runs.
    graphql_max_depth: int = Field(default=10, description="Deepest nesting of fields.")
    graphql_max_aliases: int = Field(default=15, description="Aliases in one document.")
    graphql_max_tokens: int = Field(default=2000, description="Lexical tokens in one document.")
    graphql_max_directives: int = Field(default=50, description="Directives in one document.")
    graphql_max_cost: int = Field(
        default=5_000,
        description="Estimated objects one request may return: an object costs 1, a field "
        "taking `first` multiplies the list it pages by `first` (or the default page size), "
        "any other list multiplies by graphql_list_size. The default is graphql-armor's; a "
        "page of 200 students with their guardians is about 4,200, one of 500 about 10,500 "
        "(ask such pages in parts).",
    )
    graphql_list_size: int = Field(
        default=10,
        description="Cost estimate of a list without `first` (a student's guardians, a "
        "teacher's certificates).",
    )
    graphql_max_text_length: int = Field(
        default=200, description="Longest string argument of a query (filters, cursors, ids)."
    )
    graphql_timeout_seconds: float = Field(
        default=10.0, description="Time budget of one query's execution; 0: none."
    )
    graphql_trusted_documents_file: Path | None = Field(
        default=None,
        description="JSON object of sha256 (hex) → GraphQL document. When set, production "
        "serves only these documents (by extensions.persistedQuery.sha256Hash or by text).",
    )
    trust_roots: list[Path] = Field(
        default_factory=list,
        description="PEM files of the trusted root CAs for verification (the Government CA "
        "root, the national root); in demo mode the demo roots are added.",
    )
    demo_pki_dir: Path = VAR_DIR / "demo-pki"
    tsa_url: str | None = Field(default=None, description="RFC 3161 timestamp authority.")
    jobs_namespace: str = Field(default="hub", description="Redis key prefix of the queues.")
    jobs_heartbeat_ms: int = Field(
        default=60_000, description="A worker silent this long is dead: its messages go back."
    )
    jobs_stall_seconds: float = Field(
        default=30.0, description="A running job with no progress this long is sent again."
    )
    archive_hours: float = Field(
        default=24.0,
        description="How often workers look for sealed transcripts to make long-term or "
        "whose archive timestamp needs renewing (hub.jobs.archive); 0: never by themselves.",
    )
    certificate_refresh_hours: float = Field(
        default=24.0,
        description="How often workers refresh every certificate from its provider; 0: never "
        "by themselves (startCertificateRefresh and `hub certificates refresh` still do).",
    )
    jobs_poll_seconds: float = Field(
        default=3.0, description="How often a waiting provider transaction is asked."
    )
    national_sector_url: str | None = Field(
        default=None, description="The ministry's sector database (sync adapter contract)."
    )
    national_store_url: str | None = Field(
        default=None, description="The national transcript store (sync adapter contract)."
    )
    population_url: str | None = Field(
        default=None, description="Identity verification against the population database."
    )
    national_token: str | None = Field(default=None, description="Bearer token for the above.")
    national_signer_provider: str | None = Field(
        default=None,
        description="The signing provider (PKCS11, BCY, CSC …) holding the department's "
        "organisation key, which signs every batch sent to the national systems "
        "(hub.signing.transport); its table is read from the providers file.",
    )
    national_signer_user: str | None = Field(
        default=None,
        description="How that provider knows the department: for PKCS11 the token's "
        "sub-table [pkcs11.<user>], for a remote service its user ID.",
    )
    national_signer_credential: str | None = Field(
        default=None, description="The department's credential (key) ID at that provider."
    )
    signing_providers_file: Path | None = Field(
        default=None, description="TOML file with each signing provider's URL and credentials."
    )
    # Guarding credentials and the HTTP surface (hub.web.oauth, hub.web.security).
    token_failures_per_client: int = Field(
        default=10, description="Failed /oauth/token attempts per client id and window."
    )
    token_failures_per_address: int = Field(
        default=30, description="Failed /oauth/token attempts per source address and window."
    )
    token_failure_window_seconds: int = Field(
        default=900, description="The throttling window of /oauth/token (seconds)."
    )
    clients_poll_seconds: float = Field(
        default=1.0,
        description="Without a LISTEN connection (SQLite), how often API processes look for "
        "disabled, deleted or rotated clients.",
    )
    metrics_token: str | None = Field(
        default=None,
        description="Bearer token /metrics asks for in production mode (unset: /metrics is "
        "closed in production); demo mode leaves /metrics open.",
    )
    hsts_seconds: int | None = Field(
        default=None,
        description="Strict-Transport-Security max-age; unset: one year when public_url is "
        "https, otherwise none; 0: never.",
    )
    max_body_bytes: int = Field(default=64 * 1024, description="Request body cap by default.")
    max_graphql_body_bytes: int = Field(
        default=1024 * 1024, description="Cap of a JSON (or GET-less) GraphQL request body."
    )
    max_upload_bytes: int = Field(
        default=10 * 1024 * 1024,
        description="Cap of a multipart GraphQL request and of POST /verify.",
    )
    max_token_body_bytes: int = Field(
        default=16 * 1024, description="Cap of a /oauth/token request body."
    )
    # People sign in (issue 11): the identity providers (hub.adapters.identity).
    oidc_issuer: str | None = Field(
        default=None,
        description="A standard OpenID provider (the province's SSO, Keycloak…): its issuer "
        "URL; discovery at /.well-known/openid-configuration.",
    )
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_personal_id_claim: str = Field(
        default="personal_id", description="The ID token / userinfo claim with the personal ID."
    )
    oidc_scope: str = "openid profile"
    vneid_authorize_url: str | None = Field(
        default=None, description="VNeID-style SSO (IDENTITY.md): the authorization endpoint."
    )
    vneid_token_url: str | None = None
    vneid_userinfo_url: str | None = None
    vneid_logout_url: str | None = None
    vneid_client_id: str | None = None
    vneid_client_secret: str | None = None
    vneid_key_file: Path = Field(
        default=VAR_DIR / "vneid-rp-key.pem",
        description="The hub's RSA private key that VNeID encrypts codes and answers to.",
    )
    vneid_aes_mode: str = Field(
        default="ECB", description="AES mode of VNeID's encrypted answers: ECB or CBC."
    )
    vneid_scope: str = "openid"
    staff_min_account_level: int = Field(
        default=2,
        description="The VNeID account level staff must sign in with (2: as with the ID card).",
    )
    identity_timeout_seconds: float = Field(
        default=10.0, description="How long the hub waits for an identity provider."
    )
    login_attempt_seconds: int = Field(
        default=600, description="How long a started sign-in may take before it is refused."
    )
    session_idle_minutes: int = Field(
        default=30, description="A session unused this long ends (sign in again)."
    )
    session_absolute_hours: int = Field(
        default=12, description="A session ends this long after sign-in, used or not."
    )
    person_token_lifetime_seconds: int = Field(
        default=300, description="Lifetime of an access token an app holds for a person."
    )
    refresh_token_days: int = Field(
        default=30, description="Lifetime of a refresh token an app holds for a person."
    )
    # Telling people when their signing provider is down (issue 12, part 3).
    smtp_host: str | None = Field(
        default=None,
        description="The mail server outage notices go through; unset: no mail is sent "
        "(the pages' banner still shows). The demo runs a catcher on loopback.",
    )
    smtp_port: int = Field(default=587, description="The mail server's port.")
    smtp_from: str = Field(
        default="hoc-ba-so@localhost", description="The sender of the hub's mails (From)."
    )
    smtp_starttls: bool = Field(
        default=True, description="Upgrade the connection with STARTTLS before sending."
    )
    smtp_username: str | None = Field(default=None, description="Unset: no SMTP AUTH.")
    smtp_password: str | None = None
    smtp_timeout_seconds: float = Field(
        default=10.0, description="How long the hub waits for the mail server."
    )
    dashboard_refresh_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How old the dashboard's province-wide figures may be before they are "
        "counted again, in the background (0: counted at every request).",
    )
    graphql_fastpath: Literal["on", "off", "check"] = Field(
        default="on",
        description="The compiled GraphQL path (hub.fastpath): on; off (the ordinary path "
        "only); check (both answer every query the compiled path takes, which must agree: "
        "the tests).",
    )
    # Spreadsheet import (issue 14): hub.spreadsheets, hub.jobs.imports, hub.web.imports.
    import_max_bytes: int = Field(
        default=20 * 1024 * 1024, description="Cap of an uploaded spreadsheet (POST /imports/…)."
    )
    import_max_rows: int = Field(
        default=20_000, description="Data rows one uploaded spreadsheet may hold."
    )

    @property
    def hsts_max_age(self) -> int:
        if self.hsts_seconds is not None:
            return self.hsts_seconds
        return 31_536_000 if (self.public_url or "").startswith("https://") else 0

    @property
    def issuer(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
