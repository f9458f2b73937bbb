"""Configuration from the environment (``HUB_`` prefix) with pydantic-settings."""

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

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
    signing_providers_file: Path | None = Field(
        default=None, description="TOML file with each signing provider's URL and credentials."
    )

    @property
    def issuer(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
