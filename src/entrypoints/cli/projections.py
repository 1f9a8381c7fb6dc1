"""`switchboard projections status|rebuild`: see each follower's lag; rebuild a read model."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

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


def add_parser(sub: Any) -> None:
    p = sub.add_parser("projections", help="projection positions, lag, and rebuilds")
    psub = p.add_subparsers(dest="projections_command", required=True, metavar="ACTION")
    s = psub.add_parser("status", help="each follower's position and lag behind the store")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=status)
    r = psub.add_parser("rebuild", help="replay the event store into a fresh copy, then swap")
    r.add_argument("name", choices=sorted(READ_MODELS))
    r.add_argument("--batch-size", type=int, default=5_000, help="events per transaction")
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
                batch=args.batch_size,
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
