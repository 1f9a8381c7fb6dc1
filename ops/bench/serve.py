"""One benchmark server process: `python -m ops.bench.serve {bare,switchboard} --port N`."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Response

from entrypoints.api.app import create_app
from entrypoints.settings import Settings

VOICE_PATH = "/webhooks/twilio/voice-status"
UVICORN_SETTINGS = "loop=uvloop, http=httptools, 1 process, log_config=None, access_log=False"


def bare_app() -> FastAPI:
    """The floor: FastAPI with one POST endpoint that does nothing and answers 200."""
    app = FastAPI()

    @app.post(VOICE_PATH)
    async def accept() -> Response:
        return Response(b'{"stored":true}', media_type="application/json")

    return app


def switchboard_app(database_url: str, data_dir: Path) -> FastAPI:
    """The real API, configured explicitly so no .env or environment variable leaks in."""
    settings = Settings(
        database_url=database_url,
        nats_url=None,
        data_dir=data_dir,
        secret_key="bench",
        public_base_url=None,
        log_level="WARNING",
    )
    return create_app(settings, run_clickhouse_projection=False)


def serve(app: FastAPI, port: int) -> None:
    """The same uvicorn settings for every app, so a comparison isolates the app's work."""
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        workers=1,
        log_config=None,
        access_log=False,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("app", choices=["bare", "switchboard"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url")
    parser.add_argument("--data-dir", type=Path, default=Path("var"))
    args = parser.parse_args(argv)
    if args.app == "switchboard":
        if not args.database_url:
            parser.error("switchboard needs --database-url")
        app = switchboard_app(args.database_url, args.data_dir)
    else:
        app = bare_app()
    serve(app, args.port)


if __name__ == "__main__":
    main()
