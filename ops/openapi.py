"""Export schemas/openapi.json from the app (`make openapi`), or check that it is current."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from entrypoints.api.app import create_app
from entrypoints.settings import Settings

OPENAPI = Path(__file__).resolve().parents[1] / "schemas" / "openapi.json"


def render() -> str:
    """Building the app connects to nothing: the spec needs no running engine."""
    spec = create_app(Settings(), run_clickhouse_projection=False).openapi()
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OPENAPI.read_text() if OPENAPI.exists() else ""
        if current != text:
            print(f"{OPENAPI} is stale: run `make openapi`")
            return 1
        return 0
    OPENAPI.write_text(text)
    print(f"wrote {OPENAPI}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
