"""`switchboard audit verify|replay|export|archive`: check, replay and export call histories."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import psycopg

from adapters.archive.monthly import month_bounds, names_in, verify_archives, write_archive
from adapters.postgres.audit import (
    Finding,
    VerifyReport,
    call_export,
    chain_rows,
    count_events,
    find_call_projects,
    name_breaks,
    names_of,
    verify_store,
)
from adapters.postgres.event_store import PostgresEventStore
from domain.call_timeline import timeline
from domain.hash_chain import ChainVerifier
from entrypoints.bootstrap import start_database
from entrypoints.cli.arguments import iso_time
from entrypoints.cli.progress import ProgressBar
from entrypoints.masking import mask_phone_numbers
from entrypoints.settings import Settings

_json = msgspec.json.Encoder()
T = TypeVar("T")
# What `replay` shows of the state after each event (the live monitor's columns).
_SHOWN = ("status", "answered_at", "finalized_at", "duration_seconds", "price", "recording_status")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("audit", help="verify hash chains, replay and export call histories")
    a = p.add_subparsers(dest="audit_command", required=True, metavar="ACTION")

    v = a.add_parser(
        "verify",
        help="recompute every hash chain; exit 1 naming the call and position of any break",
        description="Recompute each aggregate's hash chain from the stored bytes (not trusting"
        " the stored hashes), and compare each call's end with the calls view. Exit 0 when"
        " every chain holds, 1 when something broke (each break is printed), 2 on bad usage."
        " With --archive, check archive files offline instead (no database needed).",
    )
    v.add_argument("--project", metavar="PROJECT_ID", help="only this project's aggregates")
    v.add_argument("--call", metavar="SID", help="only this call (CA...)")
    v.add_argument(
        "--archive",
        type=Path,
        action="append",
        metavar="FILE",
        help="verify archive files written by `audit archive` (repeat, oldest month first)",
    )
    v.add_argument("--json", action="store_true", help="print JSON")
    v.set_defaults(func=verify_command)

    r = a.add_parser("replay", help="a call's timeline with the state after each event")
    r.add_argument("call_sid", metavar="SID")
    r.add_argument("--project", metavar="PROJECT_ID", help="needed if several projects have SID")
    r.add_argument(
        "--as-of", type=iso_time, metavar="TIME", help="ISO 8601; events recorded by then"
    )
    r.add_argument("--json", action="store_true", help="one JSON object per event (NDJSON)")
    r.set_defaults(func=replay_command)

    e = a.add_parser(
        "export", help="a call's events (with hashes) and raw provider callbacks, as NDJSON"
    )
    e.add_argument("call_sid", metavar="SID")
    e.add_argument("--project", metavar="PROJECT_ID", help="needed if several projects have SID")
    e.add_argument("--out", type=Path, help="file to write (default: stdout)")
    e.add_argument("--mask", action="store_true", help="mask phone numbers")
    e.set_defaults(func=export_command)

    m = a.add_parser(
        "archive",
        help="write a month of the event log, with hashes and chain heads, to an NDJSON file",
    )
    m.add_argument("--month", required=True, type=_month, metavar="YYYY-MM")
    m.add_argument("--out", required=True, type=Path, metavar="FILE")
    m.set_defaults(func=archive_command)


def _month(text: str) -> str:
    try:
        month_bounds(text)
    except ValueError as exc:
        msg = f"not a month: {text!r} (e.g. 2026-10)"
        raise argparse.ArgumentTypeError(msg) from exc
    return text


def verify_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.archive:
        if args.project or args.call:
            print("error: --archive verifies whole files; drop --project/--call", file=sys.stderr)
            return 2
        return _verify_archives(args.archive, as_json=args.json)
    engines = start_database(settings)
    bar = ProgressBar("verifying")
    try:
        project = args.project
        if args.call and not project:
            project = _one_project(engines.database_url, args.call)
            if project is None:
                return 2
        report = verify_store(
            engines.database_url, project_id=project, call_sid=args.call, progress=bar
        )
    finally:
        bar.close()
        engines.stop()
    return _print_report(report.events, report.aggregates, report.findings, args.json, report)


def _print_report(
    events: int,
    aggregates: int,
    findings: list[Finding],
    as_json: bool,
    report: VerifyReport | None = None,
    extra: dict[str, Any] | None = None,
) -> int:
    if as_json:
        print(
            json.dumps(
                {
                    "ok": not findings,
                    "events": events,
                    "aggregates": aggregates,
                    "breaks": [
                        {
                            "project_id": f.project_id,
                            "subject": f.subject,
                            "version": f.version,
                            "position": f.position,
                            "reason": f.reason,
                            "originator_id": str(f.originator_id) if f.originator_id else None,
                        }
                        for f in findings
                    ],
                    **(extra or {}),
                },
                indent=2,
            )
        )
    else:
        for f in findings:
            print(f"BROKEN  {f.describe()}")
        verdict = f"{len(findings)} break(s) found" if findings else "every chain holds"
        print(f"verified {events:,} events of {aggregates:,} aggregates: {verdict}")
    return 1 if findings else 0


def _verify_archives(paths: list[Path], *, as_json: bool) -> int:
    for path in paths:
        if not path.is_file():
            print(f"error: no such archive file: {path}", file=sys.stderr)
            return 2
    check = verify_archives(paths)
    states: dict[Any, bytes] = {}
    for path in paths:
        states.update(names_in(path, {b.originator_id for b in check.breaks} - states.keys()))
    findings = [_archive_finding(b, states.get(b.originator_id)) for b in check.breaks]
    findings += [Finding(None, "archive", 0, None, p) for p in check.problems]
    if not as_json:
        for name, digest in check.digests:
            print(f"{name}: heads digest {digest}")
    aggregates = len(check.heads) + len({b.originator_id for b in check.breaks})
    extra = {"heads_digests": dict(check.digests)}
    return _print_report(check.events, aggregates, findings, as_json, extra=extra)


def _archive_finding(b: Any, state: bytes | None) -> Finding:
    n = names_of(state or b"")
    subject = f"call {n.call_sid}" if n.call_sid else f"aggregate {b.originator_id}"
    return Finding(n.project_id, subject, b.version, b.position, b.reason, b.originator_id)


def _one_project(database_url: str, call_sid: str) -> str | None:
    with psycopg.connect(database_url) as conn:
        projects = find_call_projects(conn, call_sid)
    if len(projects) == 1:
        return projects[0]
    if not projects:
        print(f"error: no project knows call {call_sid}; pass --project", file=sys.stderr)
    else:
        print(
            f"error: call {call_sid} exists in projects {', '.join(projects)}; pass --project",
            file=sys.stderr,
        )
    return None


def _read_call(
    args: argparse.Namespace, settings: Settings, read: Callable[[PostgresEventStore, str], T]
) -> tuple[str, T] | None:
    """`read(store, project)` for the call `args.call_sid`, in `--project` or the one project
    that knows it; None (already reported) when no project or several do."""
    engines = start_database(settings)
    store = PostgresEventStore(engines.database_url)
    try:
        project = args.project or _one_project(engines.database_url, args.call_sid)
        return None if project is None else (project, read(store, project))
    finally:
        store.close()
        engines.stop()


def replay_command(args: argparse.Namespace, settings: Settings) -> int:
    found = _read_call(args, settings, lambda store, p: store.call_chain(p, args.call_sid))
    if found is None:
        return 2
    project, chain = found
    if not chain:
        print(f"error: call {args.call_sid} has no events in project {project}", file=sys.stderr)
        return 1
    links = {link.version: link for link in chain}
    steps = timeline([link.event for link in chain], as_of=args.as_of)
    if not steps:
        print(f"call {args.call_sid} had no events yet at {args.as_of.isoformat()}")
        return 0
    for event, state in steps:
        link = links[event.originator_version]
        if args.json:
            record = {
                "position": link.position,
                "version": link.version,
                "type": type(event).__qualname__,
                "recorded_at": event.timestamp,
                "hash": link.hash.hex(),
                "state": state,
            }
            sys.stdout.buffer.write(_json.encode(record) + b"\n")
            continue
        shown = "  ".join(f"{k}={state[k]}" for k in _SHOWN if state.get(k) is not None)
        print(
            f"v{link.version:<3} #{link.position:<8} {event.timestamp:%Y-%m-%d %H:%M:%S.%f}"
            f"  {type(event).__qualname__:<22} {shown}"
        )
    return 0


def export_command(args: argparse.Namespace, settings: Settings) -> int:
    found = _read_call(args, settings, lambda store, p: call_export(store, p, args.call_sid))
    if found is None:
        return 2
    project, records = found
    if not records:
        print(f"error: call {args.call_sid} is unknown in project {project}", file=sys.stderr)
        return 1
    if args.mask:
        records = [mask_phone_numbers(r) for r in records]
    body = b"".join(_json.encode(r) + b"\n" for r in records)
    if args.out:
        args.out.write_bytes(body)
        print(f"wrote {len(records) - 1} records to {args.out}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(body)
    return 0


def archive_command(args: argparse.Namespace, settings: Settings) -> int:
    engines = start_database(settings)
    bar = ProgressBar(f"archiving {args.month}")
    verifier = ChainVerifier()
    try:
        with psycopg.connect(engines.database_url) as conn, args.out.open("wb") as out:
            total = count_events(conn)

            def rows() -> Any:
                for row in verifier.feed(chain_rows(conn)):
                    if verifier.events % 50_000 == 0:
                        bar(verifier.events, total)
                    yield row

            summary = write_archive(rows(), args.month, out)
            bar(verifier.events, max(total, verifier.events))
            findings = name_breaks(conn, verifier.breaks)
    finally:
        bar.close()
        engines.stop()
    print(
        f"wrote {summary.events:,} events of {len(summary.heads):,} aggregates for"
        f" {args.month} to {args.out}\nheads digest {summary.digest}"
        " (keep it apart from the file: `audit verify --archive` prints the same value)"
    )
    for f in findings:
        print(f"BROKEN  {f.describe()}", file=sys.stderr)
    if findings:
        print(
            "the store's chains are broken: the archive carries the rows as found", file=sys.stderr
        )
    return 1 if findings else 0
