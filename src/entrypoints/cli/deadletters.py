"""`switchboard deadletters list|inspect ID|replay ID|replay --all`: the operator's view of
webhooks the worker gave up on, across projects (`--project` narrows). PII is masked."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from adapters.postgres.database import open_async_pool
from adapters.postgres.dead_letters import PostgresDeadLetters
from entrypoints.bootstrap import start_database
from entrypoints.masking import mask_payload, vars_of
from entrypoints.settings import Settings

T = TypeVar("T")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("deadletters", help="list, inspect and replay dead-lettered webhooks")
    p.add_argument("--project", metavar="PROJECT_ID", help="only this project")
    p.add_argument("--json", action="store_true", help="print JSON")
    dsub = p.add_subparsers(dest="deadletters_command", required=True, metavar="ACTION")
    ls = dsub.add_parser("list", help="dead letters, newest first")
    ls.add_argument("--limit", type=int, default=50)
    ls.set_defaults(func=list_command)
    i = dsub.add_parser("inspect", help="one dead letter with its payload (PII masked)")
    i.add_argument("id", type=int)
    i.set_defaults(func=inspect_command)
    r = dsub.add_parser("replay", help="send one dead letter (or --all) back to the worker")
    which = r.add_mutually_exclusive_group(required=True)
    which.add_argument("id", type=int, nargs="?")
    which.add_argument("--all", action="store_true", help="every dead letter (of --project)")
    r.set_defaults(func=replay_command)


def _with_letters(settings: Settings, use: Callable[[PostgresDeadLetters], Awaitable[T]]) -> T:
    engines = start_database(settings)

    async def run() -> T:
        pool = await open_async_pool(engines.database_url, min_size=1, max_size=2)
        try:
            return await use(PostgresDeadLetters(pool))
        finally:
            await pool.close()

    try:
        return asyncio.run(run())
    finally:
        engines.stop()


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    page = _with_letters(settings, lambda d: d.list(args.project, limit=args.limit))
    if args.json:
        print(json.dumps([vars_of(letter) for letter in page.items], default=str, indent=2))
        return 0
    print(f"{'id':>10}  {'received':<19}  {'type':<16} {'tries':>5}  error")
    for d in page.items:
        error = (d.error or "").splitlines()[0][:60] if d.error else ""
        print(
            f"{d.id:>10}  {d.received_at:%Y-%m-%d %H:%M:%S}  {d.event_type:<16} {d.attempts:>5}"
            f"  {error}"
        )
    if not page.items:
        print("no dead letters")
    return 0


def inspect_command(args: argparse.Namespace, settings: Settings) -> int:
    detail = _with_letters(settings, lambda d: d.get(args.project, args.id))
    if detail is None:
        print(f"error: no dead letter {args.id}", file=sys.stderr)
        return 1
    shown = {
        **vars_of(detail.letter),
        "idempotency_token": detail.idempotency_token,
        "payload": mask_payload(detail.payload),
    }
    print(json.dumps(shown, default=str, indent=2))
    return 0


def replay_command(args: argparse.Namespace, settings: Settings) -> int:
    target = None if args.all else args.id
    moved = _with_letters(settings, lambda d: d.replay(args.project, target))
    if target is not None and not moved:
        print(f"error: no dead letter {target}", file=sys.stderr)
        return 1
    print(json.dumps({"replayed": moved}) if args.json else f"replayed {moved} dead letter(s)")
    return 0
