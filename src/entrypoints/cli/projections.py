"""`switchboard projections status|rebuild`: see each follower's lag; rebuild a read model."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

import httpx

from adapters.clickhouse.rebuild import rebuild_facts
from adapters.postgres.calls_view import PostgresCallsView
from adapters.postgres.campaigns_view import PostgresCampaignsView
from adapters.postgres.conversations_view import PostgresConversationsView
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.messages_view import PostgresMessagesView
from adapters.postgres.rebuild import MakeSink, rebuild
from adapters.postgres.sync_health import sync_health
from entrypoints.bootstrap import start_database
from entrypoints.cli.progress import ProgressBar
from entrypoints.settings import Settings

# Read models that can be rebuilt from the event store: name -> (tables, sink factory).
READ_MODELS: dict[str, tuple[list[str], MakeSink]] = {
    "calls_view": (["calls", "call_events"], lambda pool, name: PostgresCallsView(pool, name)),
    "messages_view": (
        ["messages", "message_deliveries", "message_errors"],
        lambda pool, name: PostgresMessagesView(pool, name),
    ),
    "campaigns_view": (
        ["campaigns", "campaign_contacts", "campaign_results"],
        lambda pool, name: PostgresCampaignsView(pool, name),
    ),
    "conversations_view": (
        ["contacts", "conversations", "conversation_items"],
        lambda pool, name: PostgresConversationsView(pool, name),
    ),
}
# The ClickHouse facts (ADR 0007): with embedded chDB, rebuilt inside the API process.
CLICKHOUSE = "clickhouse_facts"
REBUILD_PATH = "/api/admin/projections/clickhouse_facts/rebuild"


def add_parser(sub: Any) -> None:
    p = sub.add_parser("projections", help="projection positions, lag, and rebuilds")
    psub = p.add_subparsers(dest="projections_command", required=True, metavar="ACTION")
    s = psub.add_parser("status", help="each follower's position and lag behind the store")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=status)
    r = psub.add_parser(
        "rebuild",
        help="replay the event store into a fresh copy, then swap",
        description="Replay the whole event store into fresh copies of a read model's tables"
        " while the current ones keep serving, then swap them in (ADR 0003, 0007). With"
        " embedded chDB, the API process that owns it runs the ClickHouse rebuild.",
    )
    r.add_argument(
        "name",
        choices=[*sorted(READ_MODELS), CLICKHOUSE],
        help=f"a PostgreSQL read model, or {CLICKHOUSE} (every ClickHouse table)",
    )
    r.add_argument(
        "--batch-size", type=int, help="events per transaction or insert (5,000; 10,000 for CH)"
    )
    r.add_argument(
        "--api-url",
        help=f"{CLICKHOUSE} with embedded chDB: the API that owns it (http://SB_HOST:SB_PORT)",
    )
    r.add_argument(
        "--api-key",
        default=os.environ.get("SB_API_KEY"),
        help=f"{CLICKHOUSE} with embedded chDB: an admin API key (default $SB_API_KEY)",
    )
    r.set_defaults(func=rebuild_command)


def status(args: argparse.Namespace, settings: Settings) -> int:
    engines = start_database(settings)
    try:
        health = sync_health(engines.database_url)
    finally:
        engines.stop()
    if args.json:
        print(json.dumps(health.as_dict(), default=str, indent=2))
        return 0
    print(f"event store head: {health.store_head:,}   status: {health.status}")
    print(f"{'follower':<28} {'position':>12} {'lag':>10}  updated")
    for f in health.followers:
        print(f"{f.name:<28} {f.position:>12,} {f.lag:>10,}  {f.updated_at:%Y-%m-%d %H:%M:%S}")
    print(f"inbox: {health.inbox_pending:,} pending, {health.inbox_dead:,} dead-lettered")
    for problem in health.problems:
        print(f"! {problem}")
    return 0


def rebuild_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.name == CLICKHOUSE:
        return _rebuild_clickhouse(args, settings)
    tables, make_sink = READ_MODELS[args.name]
    engines = start_database(settings)
    store = PostgresEventStore(engines.database_url)
    bar = ProgressBar(f"rebuilding {args.name}")
    try:
        position = asyncio.run(
            rebuild(
                engines.database_url,
                store,
                name=args.name,
                tables=tables,
                make_sink=make_sink,
                batch=args.batch_size or 5_000,
                progress=bar,
            )
        )
    finally:
        bar.close()
        store.close()
        engines.stop()
    print(
        f"{args.name} rebuilt from the event store up to position {position:,} and swapped in",
        file=sys.stderr,
    )
    return 0


def _rebuild_clickhouse(args: argparse.Namespace, settings: Settings) -> int:
    """Embedded chDB opens from one process only: when the API runs, it owns chDB and does
    the rebuild (pausing its projection); otherwise, or with a server, rebuild from here."""
    base = (args.api_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    if settings.clickhouse_is_embedded:
        if _answers(base):
            return _rebuild_through_api(args, base)
        print(f"no API answers at {base}: opening chDB in this process", file=sys.stderr)
    url = settings.clickhouse_url or settings.embedded_clickhouse_url()
    engines = start_database(settings)
    store = PostgresEventStore(engines.database_url)
    bar = ProgressBar(f"rebuilding {CLICKHOUSE}")
    try:
        position = asyncio.run(
            rebuild_facts(url, store, batch=args.batch_size or 10_000, progress=bar)
        )
    finally:
        bar.close()
        store.close()
        engines.stop()
    print(f"{CLICKHOUSE} rebuilt up to position {position:,} and swapped in", file=sys.stderr)
    return 0


def _answers(base: str) -> bool:
    try:
        httpx.get(f"{base}/healthz", timeout=5)
    except httpx.TransportError:
        return False
    return True


def _rebuild_through_api(args: argparse.Namespace, base: str) -> int:
    """Start the rebuild in the API process, and draw its progress until it ends."""
    if not args.api_key:
        print(
            f"error: the API at {base} owns the embedded chDB, so the rebuild runs there;"
            " pass an admin key with --api-key or SB_API_KEY",
            file=sys.stderr,
        )
        return 2
    headers = {"Authorization": f"Bearer {args.api_key}"}
    params = {"batch_size": args.batch_size} if args.batch_size else {}
    bar = ProgressBar(f"rebuilding {CLICKHOUSE}")
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            status = _json(client.post(REBUILD_PATH, params=params))
            while status["state"] == "running":
                if status["total"]:
                    bar(status["done"], status["total"])
                time.sleep(0.5)
                status = _json(client.get(REBUILD_PATH))
            if status["state"] == "done":
                bar(status["done"], status["total"])
    except (httpx.TransportError, _Refused) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        bar.close()
    if status["state"] != "done":
        print(f"error: the rebuild failed: {status['error']}", file=sys.stderr)
        return 1
    print(
        f"{CLICKHOUSE} rebuilt up to position {status['position']:,} and swapped in",
        file=sys.stderr,
    )
    return 0


class _Refused(Exception):
    pass


def _json(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    if response.is_error:
        err = body.get("error", {})
        fixes = " ".join(err.get("human_how_to_fix", []))
        raise _Refused(
            f"{response.status_code} {err.get('code')}: {err.get('human_title')}. {fixes}"
        )
    return body
