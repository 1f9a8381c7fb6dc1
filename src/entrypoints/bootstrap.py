"""Composition root: resolve the engines from Settings, starting embedded ones when unset."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from adapters.embedded.nats import EmbeddedNats
from adapters.embedded.postgres import EmbeddedPostgres
from adapters.postgres.migrations import apply_migrations
from adapters.postgres.partitions import maintain_partitions
from entrypoints.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Engines:
    """Resolved engine URLs, and the embedded servers this process started (to stop)."""

    database_url: str
    nats_url: str | None
    clickhouse_url: str
    postgres: EmbeddedPostgres | None = None
    nats: EmbeddedNats | None = None
    owns_postgres: bool = False

    def child_env(self, settings: Settings) -> dict[str, str]:
        """Children get explicit URLs: they take the same code path as external servers."""
        env = {
            "DATABASE_URL": self.database_url,
            "CLICKHOUSE_URL": self.clickhouse_url,
            "SB_DATA_DIR": str(settings.data_dir.resolve()),
            "SB_SECRET_KEY": secret_key(settings),
        }
        if self.nats_url:
            env["NATS_URL"] = self.nats_url
        return env

    def stop(self) -> None:
        if self.nats:
            self.nats.stop()
        if self.postgres and self.owns_postgres:
            self.postgres.stop()


def start_database(settings: Settings) -> Engines:
    """Just PostgreSQL (for CLI commands): external if configured, else embedded."""
    postgres = None
    url = settings.database_url
    if url is None:
        postgres = EmbeddedPostgres(settings.data_dir)
        url = postgres.start()
    prepare_database(url, settings)
    return Engines(
        url,
        settings.nats_url,
        settings.clickhouse_url or settings.embedded_clickhouse_url(),
        postgres=postgres,
        # A CLI command stops only a server it started; `up` takes ownership (below).
        owns_postgres=postgres is not None and not postgres.was_running,
    )


def prepare_database(database_url: str, settings: Settings) -> None:
    """Migrations, then this month's and the next months' partitions (and retention)."""
    apply_migrations(database_url)
    maintain_partitions(database_url, retention_months=settings.retention_months)


def start_engines(settings: Settings) -> Engines:
    """PostgreSQL, NATS and the ClickHouse location, each external or embedded."""
    engines = start_database(settings)
    # `up` owns the embedded server, even one a killed earlier run left behind.
    engines.owns_postgres = engines.postgres is not None
    if settings.nats_url is None:
        engines.nats = EmbeddedNats(settings.data_dir)
        engines.nats_url = engines.nats.start()
    return engines


def secret_key(settings: Settings) -> str:
    """Signs realtime tokens. Embedded default: generated once and kept under data_dir."""
    if settings.secret_key:
        return settings.secret_key
    path: Path = settings.data_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        os.chmod(path, 0o600)
    return path.read_text().strip()
