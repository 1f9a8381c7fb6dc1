"""What every benchmark is given: options, a load generator and a temporary PostgreSQL."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from adapters.embedded.postgres import EmbeddedPostgres
from adapters.postgres.migrations import apply_migrations
from ops.bench.load import LoadGenerator

POSTGRES_SETTINGS = ("server_version", "synchronous_commit", "fsync", "shared_buffers")


@dataclass(frozen=True, slots=True)
class Options:
    duration: int  # seconds measured, per app
    warmup: int  # seconds of load before each measurement, not reported
    connections: int
    realtime_seconds: int = 60  # sustained webhooks for the realtime benchmark
    realtime_rate: int = 500  # webhooks/s of that run


@dataclass
class BenchContext:
    options: Options
    load: LoadGenerator
    database_url: str
    workdir: Path
    postgres: dict[str, str] = field(default_factory=dict)


def postgres_facts(database_url: str) -> dict[str, str]:
    facts: dict[str, str] = {}
    with psycopg.connect(database_url) as conn:
        for name in POSTGRES_SETTINGS:
            row = conn.execute(f"SHOW {name}").fetchone()
            facts[name] = str(row[0]) if row else "?"
    return facts


@contextlib.contextmanager
def open_context(options: Options, load: LoadGenerator) -> Iterator[BenchContext]:
    """A fresh embedded PostgreSQL with the schema applied, stopped and deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="sb-bench-", ignore_cleanup_errors=True) as tmp:
        workdir = Path(tmp)
        postgres = EmbeddedPostgres(workdir)
        try:
            print(f"starting embedded PostgreSQL under {workdir}", flush=True)
            url = postgres.start()
            apply_migrations(url)
            yield BenchContext(options, load, url, workdir, postgres_facts(url))
        finally:
            postgres.stop()
