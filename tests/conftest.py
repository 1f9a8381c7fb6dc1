"""Real engines for the suite: embedded PostgreSQL (a fresh database per test), a NATS
server with JetStream per test, and one chDB path per session (chDB allows one per process)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from adapters.clickhouse.client import ClickHouse
from adapters.clickhouse.facts import truncate_facts
from adapters.embedded.nats import EmbeddedNats
from adapters.embedded.postgres import EmbeddedPostgres
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.migrations import apply_migrations
from adapters.postgres.partitions import maintain_partitions
from adapters.postgres.projects import Project, create_project
from entrypoints.settings import Settings


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("engines"))
    url = server.start()
    yield url
    server.stop()


@pytest.fixture
def database_url(pg_server: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = make_conninfo(**{**conninfo_to_dict(pg_server), "dbname": name})
    apply_migrations(url)
    maintain_partitions(url)
    yield url
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def store(database_url: str) -> Iterator[PostgresEventStore]:
    """The event store on the test's database; a test needing a bigger pool makes its own."""
    s = PostgresEventStore(database_url)
    yield s
    s.close()


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    server = EmbeddedNats(tmp_path)
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def clickhouse_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"chdb://{tmp_path_factory.mktemp('clickhouse')}"


@pytest.fixture
def clickhouse(clickhouse_url: str) -> Iterator[ClickHouse]:
    ch = ClickHouse(clickhouse_url)
    ch.migrate()
    truncate_facts(ch)
    yield ch
    ch.close()


@pytest.fixture
def project(database_url: str) -> tuple[Project, str]:
    """A tenant with a Twilio-style account SID and token, and its admin API key."""
    return create_project(
        database_url,
        name="acme",
        twilio_account_sid="AC" + uuid.uuid4().hex,
        twilio_auth_token=uuid.uuid4().hex,
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        DATABASE_URL=database_url,
        SB_DATA_DIR=tmp_path / "var",
        SB_SECRET_KEY="test-secret",
    )
