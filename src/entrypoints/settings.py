"""All configuration, from the environment or a .env file (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Unset engine URLs mean: start that engine locally under `data_dir` (the default)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str | None = Field(None, validation_alias="DATABASE_URL")
    nats_url: str | None = Field(None, validation_alias="NATS_URL")
    clickhouse_url: str | None = Field(None, validation_alias="CLICKHOUSE_URL")
    data_dir: Path = Field(Path("var"), validation_alias="SB_DATA_DIR")
    host: str = Field("127.0.0.1", validation_alias="SB_HOST")
    port: int = Field(8000, validation_alias="SB_PORT")
    public_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("SB_PUBLIC_BASE_URL"),
        description="Externally visible base URL; signatures are checked against it.",
    )
    secret_key: str | None = Field(None, validation_alias="SB_SECRET_KEY")
    log_level: str = Field("INFO", validation_alias="SB_LOG_LEVEL")
    webhook_max_body_bytes: int = Field(64 * 1024, validation_alias="SB_WEBHOOK_MAX_BODY_BYTES")
    trusted_proxies: str = Field(
        "",
        validation_alias="SB_TRUSTED_PROXIES",
        description="Comma-separated IPs/CIDRs whose X-Forwarded-Proto/Host/Port are believed "
        "when rebuilding the URL a provider signed (ignored when SB_PUBLIC_BASE_URL is set).",
    )
    webhook_rate_per_second: float = Field(
        5000.0,
        gt=0,
        validation_alias="SB_WEBHOOK_RATE_PER_SECOND",
        description="Webhooks accepted per project per second, per API process.",
    )
    webhook_rate_burst: int = Field(
        10_000, ge=1, validation_alias="SB_WEBHOOK_RATE_BURST", description="Token bucket size."
    )
    inbox_max_attempts: int = Field(
        8, ge=1, validation_alias="SB_INBOX_MAX_ATTEMPTS", description="Then dead-lettered."
    )
    inbox_backoff_base_seconds: float = Field(
        1.0,
        ge=0,
        validation_alias="SB_INBOX_BACKOFF_BASE_SECONDS",
        description="A failed inbox row waits base * 2^attempts seconds (at most 300).",
    )
    realtime_token_ttl_seconds: int = Field(600, validation_alias="SB_REALTIME_TOKEN_TTL")
    retention_months: int = Field(
        0,
        ge=0,
        validation_alias="SB_RETENTION_MONTHS",
        description="Drop read-model partitions older than this (0 keeps all). The event "
        "store itself is never trimmed: a rebuild can always restore what was dropped.",
    )
    reconcile_enabled: bool = Field(
        True,
        validation_alias="SB_RECONCILE_ENABLED",
        description="Run the hot/warm/cold reconcile jobs in `serve worker` (seed 003's "
        "reconcile_jobs_enabled). Only projects with a provider_api_url are reconciled.",
    )
    reconcile_hot_seconds: float = Field(90.0, gt=0, validation_alias="SB_RECONCILE_HOT_SECONDS")
    reconcile_warm_seconds: float = Field(600.0, gt=0, validation_alias="SB_RECONCILE_WARM_SECONDS")
    reconcile_cold_seconds: float = Field(
        86_400.0, gt=0, validation_alias="SB_RECONCILE_COLD_SECONDS"
    )

    @property
    def clickhouse_is_embedded(self) -> bool:
        """chDB opens its path from one process only: the API process owns it."""
        return self.clickhouse_url is None or self.clickhouse_url.startswith("chdb://")

    def embedded_clickhouse_url(self) -> str:
        return f"chdb://{(self.data_dir / 'clickhouse').resolve()}"
