"""`switchboard`: run the product, manage projects, simulate a provider."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

from entrypoints.observability import configure_logging
from entrypoints.settings import Settings


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


def _cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.twilio.simulator import ProviderSimulator

    sim = ProviderSimulator(
        args.url,
        args.account_sid,
        args.auth_token,
        seed=args.seed,
        duplicate_rate=args.duplicates,
        speed=args.speed,
    )
    stop = asyncio.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, stop.set)
        report = await sim.run(args.calls, args.rate, stop)
        summary = {
            "calls": len(report.calls),
            "posted": report.posted,
            "duplicates": report.duplicates,
            "rejected": report.rejected,
        }
        if args.truth:
            summary["truth"] = report.calls  # type: ignore[assignment]
        print(json.dumps(summary, indent=2))

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
    prepare_database(settings.database_url, settings)
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
    from entrypoints.workers.run import run_worker

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop)

    asyncio.run(main())
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

    s = sub.add_parser("simulate", help="play a Twilio-like provider posting signed callbacks")
    s.add_argument(
        "--url",
        required=True,
        help="webhook URL, e.g. http://127.0.0.1:8000/webhooks/twilio/voice-status",
    )
    s.add_argument("--account-sid", required=True)
    s.add_argument("--auth-token", required=True)
    s.add_argument("--calls", type=int, default=10, help="calls to place (0: until Ctrl-C)")
    s.add_argument("--rate", type=float, default=2.0, help="new calls per second")
    s.add_argument("--duplicates", type=float, default=0.0, help="share of callbacks sent twice")
    s.add_argument("--speed", type=float, default=1.0, help="time compression factor")
    s.add_argument("--seed", type=int, help="random seed for a repeatable run")
    s.add_argument("--truth", action="store_true", help="print each call's final status")
    s.set_defaults(func=_cmd_simulate)

    from entrypoints.cli.deadletters import add_parser as add_deadletters
    from entrypoints.cli.projections import add_parser as add_projections

    add_projections(sub)
    add_deadletters(sub)

    v = sub.add_parser("serve", help="run one component (what `up` supervises)")
    v.add_argument("component", choices=["api", "worker"])
    v.set_defaults(func=_cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level, component=args.command)
    return int(args.func(args, settings))


if __name__ == "__main__":
    sys.exit(main())
