"""Analyst SQL: read-only queries that see one project's rows only (ADR 0009).

Each project gets a database `analyst_<project hex>` holding one view per fact table, each
`SELECT * FROM <facts db>.<table> [FINAL] WHERE project_id = <project>`. A query runs on
its own engine session whose current database is that one and whose settings end with
`readonly = 1` (the engine refuses writes, DDL and any change of settings, `readonly`
included). Before it runs, the engine parses it (`EXPLAIN AST`) and we refuse anything that
could reach outside those views: a name qualified by a database, a table function, a
function that reads files, dictionaries or Join tables, a second statement, INTO OUTFILE.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import clickhouse_connect
from clickhouse_connect.driver.exceptions import ClickHouseError

# The views an analyst sees, and whether they collapse replayed rows (FINAL) for them.
ANALYST_TABLES: dict[str, bool] = {
    "events": True,
    "calls": True,
    "call_events": True,
    "call_outcomes_per_minute": False,
    "campaign_results_per_minute": False,
}
# Columns holding phone numbers or addresses (PII), masked unless the caller may see them,
# and JSON payloads that may hold some (added campaign contacts, pre-0002 call payloads).
PII_COLUMNS: dict[str, tuple[str, ...]] = {
    "events": ("from_number", "to_number", "from_address", "to_address"),
    "calls": ("from_number", "to_number"),
}
PII_PAYLOADS: dict[str, str] = {
    "events": "if(event_type = 'campaign.contacts_added', '', payload)",
    "call_events": "''",
}
# +14155551212 -> +1415*****12, as entrypoints.observability.mask_phone does for logs.
_MASK = (
    "if(length({c}) < 6, repeat('*', length({c})), concat(substring({c}, 1, "
    "least(5, length({c}) - 6)), repeat('*', length({c}) - least(5, length({c}) - 6) - 2), "
    "right({c}, 2)))"
)
# Scalar functions that read something other than the query's tables.
DENIED_FUNCTIONS = frozenset(
    {"file", "joinget", "joingetornull", "hascolumnintable", "getmacro", "getserversetting"}
)
_ROOT = "SelectWithUnionQuery (children 1)"  # a second child is INTO OUTFILE or FORMAT
# An AST line: indent, node kind, then its name (which may hold spaces when quoted).
_NODE = re.compile(r"^( *)(\S+)(?: (?!\()(.*?))?(?: \((?:alias|children) [^)]*\))*$")
# A string, a quoted name or a comment (whose text is not code), else one character of code.
_TOKEN = re.compile(
    r"'(?:[^'\\]|\\.|'')*'|`(?:[^`\\]|\\.)*`|\"(?:[^\"\\]|\\.)*\"|--[^\n]*|/\*.*?\*/|.",
    re.DOTALL,
)


class QueryRefused(ValueError):
    """The query is not a single read of this project's views; the message says why."""


class QueryFailed(ValueError):
    """The engine refused or failed the query: its first message line (no stack trace)."""


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[list[Any]]


def json_value(value: Any) -> Any:
    """Exact and unambiguous in JSON: decimals and UUIDs stay strings, times are ISO 8601."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value


def analyst_database(project_id: str, *, pii: bool = False) -> str:
    return f"analyst_{'pii_' if pii else ''}{UUID(project_id).hex}"


def masked_columns(table: str) -> str:
    """The view's `REPLACE (...)` list that hides PII, or '' for a table without any."""
    masks = [f"{_MASK.format(c=c)} AS {c}" for c in PII_COLUMNS.get(table, ())]
    if table in PII_PAYLOADS:
        masks.append(f"{PII_PAYLOADS[table]} AS payload")
    return f" REPLACE ({', '.join(masks)})" if masks else ""


def code_of(sql: str) -> str:
    """The query without its strings, quoted names and comments: what a `;` in it means."""
    return "".join(t if len(t) == 1 else " " for t in _TOKEN.findall(sql))


def check_ast(ast: str, databases: set[str]) -> None:
    """Refuse a parsed query (EXPLAIN AST text) that could read outside the analyst's views.
    `databases`: every database name on the server, compared case-insensitively."""
    lines = ast.splitlines()
    if not lines or lines[0] != _ROOT:
        raise QueryRefused("only one SELECT is allowed (no INTO OUTFILE or FORMAT)")
    known = {d.lower() for d in databases}
    parents: list[str] = []
    for line in lines:
        match = _NODE.match(line)
        if match is None:
            continue
        depth, kind, name = len(match[1]), match[2], match[3] or ""
        del parents[depth:]
        parent = parents[-1] if parents else ""
        parents.append(kind)
        qualified = "." in name and (
            kind == "TableIdentifier"
            or (kind == "Identifier" and name.split(".", 1)[0].lower() in known)
        )
        if qualified:
            msg = f"`{name}`: name tables without a database; you see: {_tables()}"
            raise QueryRefused(msg)
        if kind == "Function" and parent == "TableExpression":
            raise QueryRefused(f"table function `{name}` is not allowed; use: {_tables()}")
        if kind == "Function" and (name.lower() in DENIED_FUNCTIONS or name.startswith("dict")):
            raise QueryRefused(f"function `{name}` is not allowed")


def _tables() -> str:
    return ", ".join(ANALYST_TABLES)


class AnalystSql:
    """Runs analysts' queries, each confined to one project (see the module docstring).

    Thread-safe; with chDB it opens extra handles on the engine this process already owns."""

    def __init__(self, url: str, *, max_rows: int = 100_000, timeout_seconds: int = 60) -> None:
        """Connects on first use: an API process that never serves analytics opens nothing."""
        self.url = url
        self.limits = {
            "max_execution_time": timeout_seconds,
            "max_result_rows": max_rows,
            "result_overflow_mode": "throw",
        }
        self._admin: Any = None
        self._facts_db = ""
        self._sessions: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def run(
        self,
        project_id: str,
        sql: str,
        params: dict[str, Any] | None = None,
        *,
        pii: bool = False,
    ) -> QueryResult:
        """The query's result; `{project_id:UUID}` is always the caller's project. Phone
        numbers and addresses come masked unless `pii`."""
        text = sql.strip().rstrip(";").strip()
        if not code_of(text).strip():
            raise QueryRefused("the query is empty")
        if ";" in code_of(text):
            raise QueryRefused("one statement only: the engine would run a second one unchecked")
        bound = {**(params or {}), "project_id": project_id}
        try:
            with self._lock:
                return self._run(self._session(project_id, pii), text, bound)
        except ClickHouseError as exc:
            lines = str(exc).strip().splitlines() or ["unknown error"]
            raise QueryFailed(lines[0][:1000]) from exc

    def _run(self, session: Any, text: str, bound: dict[str, Any]) -> QueryResult:
        """Under the lock: parse, check, run. readonly = 1 on the session keeps it from
        writing; the check keeps it inside the project's views."""
        # command(): query() would append its own FORMAT clause to what is parsed.
        ast = session.command(f"EXPLAIN AST {text}", parameters=bound)
        databases = {str(r[0]) for r in self._admin.query(_DATABASES).result_rows}
        check_ast(ast if isinstance(ast, str) else "\n".join(map(str, ast)), databases)
        result = session.query(text, parameters=bound)
        return QueryResult(
            columns=list(result.column_names),
            types=[t.name for t in result.column_types],
            rows=[list(r) for r in result.result_rows],
        )

    def _session(self, project_id: str, pii: bool = False) -> Any:
        """A read-only session in the project's database of views, made on first use."""
        if self._admin is None:
            self._admin = clickhouse_connect.get_client(dsn=self.url)
            self._facts_db = str(self._admin.command("SELECT currentDatabase()"))
        database = analyst_database(project_id, pii=pii)
        session = self._sessions.get(database)
        if session is None:
            self._create_views(database, project_id, pii)
            # readonly last: once it is set, the engine refuses to change any setting.
            session = clickhouse_connect.get_client(
                dsn=self.url, database=database, settings={**self.limits, "readonly": 1}
            )
            self._sessions[database] = session
            if len(self._sessions) > 64:
                self._sessions.popitem(last=False)[1].close()
        self._sessions.move_to_end(database)
        return session

    def _create_views(self, database: str, project_id: str, pii: bool) -> None:
        project = str(UUID(project_id))
        self._admin.command(f"CREATE DATABASE IF NOT EXISTS {database}")
        for table, final in ANALYST_TABLES.items():
            self._admin.command(
                f"CREATE OR REPLACE VIEW {database}.{table} AS SELECT *"
                f"{'' if pii else masked_columns(table)} FROM "
                f"{self._facts_db}.{table}{' FINAL' if final else ''}"
                f" WHERE project_id = toUUID('{project}')"
            )

    def close(self) -> None:
        with self._lock:
            for session in self._sessions.values():
                session.close()
            self._sessions.clear()
            if self._admin is not None:
                self._admin.close()
                self._admin = None


_DATABASES = "SELECT name FROM system.databases"
