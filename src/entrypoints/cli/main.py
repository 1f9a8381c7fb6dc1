"""`switchboard`: run the product, manage projects, simulate a provider."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

import uvloop

from entrypoints.observability import configure_logging
from entrypoints.priority import MAX_NICE, lower_priority
from entrypoints.settings import Settings
from entrypoints.workers.layout import PROJECTIONS


def _cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    from entrypoints.cli.up import up

    if args.port:
        settings.port = args.port
    if args.host:
        settings.host = args.host
    return up(settings, demo=args.demo, demo_rate=args.demo_rate)


def _cmd_projects_create(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.postgres.projects import ProjectAlreadyExists, create_project
    from entrypoints.bootstrap import start_database

    if not args.twilio_account_sid.startswith("AC") or len(args.twilio_account_sid) != 34:
        print("error: --twilio-account-sid must be AC followed by 32 characters", file=sys.stderr)
        return 2
    engines = start_database(settings)
    try:
        project, key = create_project(
            engines.database_url,
            name=args.name,
            twilio_account_sid=args.twilio_account_sid,
            twilio_auth_token=args.twilio_auth_token,
            provider_api_url=args.provider_api_url,
        )
    except ProjectAlreadyExists:
        print(
            f"error: a project already uses AccountSid {args.twilio_account_sid}", file=sys.stderr
        )
        return 1
    finally:
        engines.stop()
    if args.json:
        print(json.dumps({"project_id": project.id, "name": project.name, "api_key": key}))
    else:
        print(f"Project:  {project.id}  ({project.name})")
        print(f"API key:  {key}   (shown once; send as `Authorization: Bearer <key>`)")
        base = settings.public_base_url or f"http://{settings.host}:{settings.port}"
        print("Webhooks: point Twilio's status callbacks at")
        for kind in ("voice-status", "recording-status", "messaging-status"):
            print(f"  {base.rstrip('/')}/webhooks/twilio/{kind}")
    return 0


def _cmd_projects_key(args: argparse.Namespace, settings: Settings) -> int:
    import psycopg

    from adapters.postgres.projects import issue_api_key
    from entrypoints.bootstrap import start_database

    engines = start_database(settings)
    try:
        key = issue_api_key(engines.database_url, args.project_id, args.role)
    except (psycopg.errors.ForeignKeyViolation, psycopg.errors.InvalidTextRepresentation):
        print(f"error: no project {args.project_id}", file=sys.stderr)
        return 1
    finally:
        engines.stop()
    if args.json:
        print(json.dumps({"project_id": args.project_id, "role": args.role, "api_key": key}))
    else:
        print(f"API key:  {key}   (role {args.role}; shown once)")
    return 0


def _cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.twilio.simulator import Chaos, ProviderSimulator

    try:
        chaos = Chaos(
            duplicates=args.duplicates,
            reorder=args.reorder,
            delays=args.delays,
            drops=args.drops,
            delay_seconds=args.delay_seconds,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sim = ProviderSimulator(
        args.url,
        args.account_sid,
        args.auth_token,
        seed=args.seed,
        speed=args.speed,
        chaos=chaos,
        message_share=args.messages,
    )
    stop = asyncio.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, stop.set)
        server = None
        if args.serve:
            host, _, port = args.serve.rpartition(":")
            server = sim.rest_server(host or "127.0.0.1", int(port))
            rest = asyncio.create_task(server.serve())
            print(
                f"Provider REST API: {sim.api_base}  (the project's provider_api_url)",
                file=sys.stderr,
                flush=True,
            )
        report = await sim.run(args.calls, args.rate, stop)
        summary = report.summary()
        if args.truth is not None:
            truth = sim.truth()
            if args.truth == "-":
                summary["truth"] = truth
            else:
                text = json.dumps(truth, indent=2, default=str)
                await asyncio.to_thread(Path(args.truth).write_text, text)
                summary["truth_file"] = args.truth
        print(json.dumps(summary, indent=2, default=str), flush=True)
        if server is not None:  # keep answering reconcile until Ctrl-C
            await stop.wait()
            server.should_exit = True
            await rest

    asyncio.run(main())
    return 0


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from entrypoints.bootstrap import prepare_database

    configure_logging(settings.log_level, component=args.component)
    if not settings.database_url:
        print(
            "error: `serve` needs DATABASE_URL (use `switchboard up` for the embedded default)",
            file=sys.stderr,
        )
        return 2
    if args.no_projections and args.component != "worker":
        print("error: --no-projections is for `serve worker`", file=sys.stderr)
        return 2
    if args.only and args.component != "projections":
        print("error: --only is for `serve projections`", file=sys.stderr)
        return 2
    prepare_database(settings.database_url, settings)
    lower_priority(args.nice)
    if args.component == "api":
        import uvicorn

        from entrypoints.api.app import create_app

        uvicorn.Server(
            uvicorn.Config(
                create_app(settings),
                host=settings.host,
                port=settings.port,
                loop="uvloop",
                http="httptools",
                log_config=None,
                access_log=False,
                # X-Forwarded-* are believed only from SB_TRUSTED_PROXIES (api/public_url.py);
                # uvicorn's own rewrite would hide the proxy's address from that check.
                proxy_headers=False,
                timeout_graceful_shutdown=3,
            )
        ).run()
        return 0
    from entrypoints.workers.run import run_projections, run_worker

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if args.component == "projections":
            await run_projections(settings, stop, args.only or ())
        else:
            await run_worker(settings, stop, projections=not args.no_projections)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="switchboard",
        description="Event-sourced call-center backend. With no DATABASE_URL / NATS_URL / "
        "CLICKHOUSE_URL it runs real PostgreSQL, NATS JetStream and chDB under ./var/.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("up", help="start engines, API, worker, relay and projections")
    p.add_argument("--port", type=int, help="API port (default 8000, or SB_PORT)")
    p.add_argument("--host", help="API host (default 127.0.0.1, or SB_HOST)")
    p.add_argument(
        "--demo", action="store_true", help="create a demo project and drive the provider simulator"
    )
    p.add_argument(
        "--demo-rate",
        type=float,
        default=1.0,
        metavar="CALLS_PER_S",
        help="new simulated calls per second with --demo (default 1)",
    )
    p.set_defaults(func=_cmd_up)

    projects = sub.add_parser("projects", help="manage projects (tenants)")
    psub = projects.add_subparsers(dest="projects_command", required=True, metavar="ACTION")
    c = psub.add_parser("create", help="create a project and print its id and first API key")
    c.add_argument("--name", required=True)
    c.add_argument("--twilio-account-sid", required=True, metavar="AC...")
    c.add_argument(
        "--twilio-auth-token",
        required=True,
        metavar="TOKEN",
        help="verifies X-Twilio-Signature on this project's webhooks",
    )
    c.add_argument("--provider-api-url", help="provider REST base URL (simulator or Twilio)")
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(func=_cmd_projects_create)
    from adapters.postgres.projects import ROLES

    k = psub.add_parser("key", help="issue another API key for a project, with a role")
    k.add_argument("--project-id", required=True, metavar="UUID")
    k.add_argument(
        "--role",
        choices=ROLES,
        default="viewer",
        help="one of %(choices)s (default viewer). So far the role decides one thing: call"
        " exports show phone numbers only to admin and auditor keys.",
    )
    k.add_argument("--json", action="store_true", help="print JSON")
    k.set_defaults(func=_cmd_projects_key)

    s = sub.add_parser(
        "simulate",
        help="play a Twilio-compatible provider: signed callbacks, REST API, ground truth",
        description="Runs realistic call lifecycles (inbound, outbound, child legs, AMD, "
        "recordings, busy / no-answer / failed / canceled) and optional SMS, and posts their "
        "signed status callbacks through a lossy network. Recording and messaging callbacks "
        "go to the sibling URLs .../recording-status and .../messaging-status. With --serve it "
        "also answers Twilio's REST API (Calls, Recordings, Messages) for reconcile.",
    )
    s.add_argument(
        "--url",
        required=True,
        help="voice webhook URL, e.g. http://127.0.0.1:8000/webhooks/twilio/voice-status",
    )
    s.add_argument("--account-sid", required=True, metavar="AC...")
    s.add_argument("--auth-token", required=True, help="signs callbacks; REST basic auth")
    s.add_argument("--calls", type=int, default=10, help="calls to place (0: until Ctrl-C)")
    s.add_argument("--rate", type=float, default=2.0, help="new calls per second")
    s.add_argument(
        "--speed", type=float, default=1.0, help="clock speed-up (100: a 40 s call in 0.4 s)"
    )
    s.add_argument("--seed", type=int, help="random seed for a repeatable run")
    chaos = s.add_argument_group("a lossy provider (shares of callbacks, 0..1)")
    chaos.add_argument("--duplicates", type=float, default=0.0, help="sent twice")
    chaos.add_argument("--reorder", type=float, default=0.0, help="sent after their successor")
    chaos.add_argument("--delays", type=float, default=0.0, help="sent after the call ended")
    chaos.add_argument("--drops", type=float, default=0.0, help="never sent")
    chaos.add_argument(
        "--delay-seconds", type=float, default=30.0, help="how late --delays can be (simulated s)"
    )
    s.add_argument("--messages", type=float, default=0.0, help="share of calls with an SMS too")
    s.add_argument(
        "--serve",
        metavar="HOST:PORT",
        help="serve the REST API here (e.g. 127.0.0.1:8010) and keep serving after the run",
    )
    s.add_argument(
        "--truth",
        nargs="?",
        const="-",
        metavar="FILE",
        help="print every call's final provider state (or write it to FILE) as JSON",
    )
    s.set_defaults(func=_cmd_simulate)

    from entrypoints.cli.analytics import add_parsers as add_analytics
    from entrypoints.cli.audit import add_parser as add_audit
    from entrypoints.cli.deadletters import add_parser as add_deadletters
    from entrypoints.cli.projections import add_parser as add_projections

    add_projections(sub)
    add_deadletters(sub)
    add_audit(sub)
    add_analytics(sub)

    v = sub.add_parser(
        "serve",
        help="run one component (what `up` supervises)",
        description="api: the HTTP API, webhooks and the live monitor. worker: the inbox"
        " worker, the relay to NATS, reconcile and, unless --no-projections, the"
        " projections. projections: the read models fed from NATS (and ClickHouse's when"
        " CLICKHOUSE_URL is a server). Leadership locks make any number of each safe.",
    )
    v.add_argument("component", choices=["api", "worker", "projections"])
    v.add_argument(
        "--no-projections",
        action="store_true",
        help="worker only: leave the projections to `serve projections`",
    )
    v.add_argument(
        "--only",
        nargs="+",
        choices=PROJECTIONS,
        metavar="NAME",
        help=f"projections only: run just these ({', '.join(PROJECTIONS)})",
    )
    v.add_argument(
        "--nice",
        type=int,
        default=0,
        choices=range(MAX_NICE + 1),
        metavar="0-19",
        help="lower this process's CPU priority by this much: for background work, such as"
        " the views no one watches live, so that under load the live path gets the cores"
        " first (`up` gives them 10; see entrypoints/priority.py)",
    )
    v.set_defaults(func=_cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level, component=args.command)
    return int(args.func(args, settings))


if __name__ == "__main__":
    sys.exit(main())
