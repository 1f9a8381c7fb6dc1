"""Generate schemas/events/*.json from the event classes (`make schemas`), or check drift."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from domain.catalog import event_classes

EVENTS_DIR = Path(__file__).resolve().parents[1] / "schemas" / "events"


def render() -> dict[str, str]:
    """File name -> JSON text, deterministic, one file per event type."""
    files: dict[str, str] = {}
    for name, cls in event_classes().items():
        schema: dict[str, Any] = msgspec.json.schema(cls)
        body = schema["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
        document = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://switchboard.dev/schemas/events/{name}.json",
            "title": name,
            "description": (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else name,
            "x-topic": f"{cls.__module__}:{cls.__qualname__}",
            "x-class-version": getattr(cls, "class_version", 1),
            **{k: v for k, v in body.items() if k not in ("title", "description")},
        }
        if len(schema["$defs"]) > 1:
            document["$defs"] = {k: v for k, v in schema["$defs"].items() if k != body.get("title")}
        files[f"{name}.json"] = json.dumps(document, indent=2, sort_keys=True) + "\n"
    return files


def drift(directory: Path = EVENTS_DIR) -> list[str]:
    """What differs between the code and the files on disk; empty when in sync."""
    expected = render()
    present = (
        {p.name: p.read_text() for p in directory.glob("*.json")} if directory.exists() else {}
    )
    problems = [f"missing {n}" for n in sorted(expected.keys() - present.keys())]
    problems += [f"stale {n}" for n in sorted(present.keys() - expected.keys())]
    problems += [
        f"changed {n}"
        for n in sorted(expected.keys() & present.keys())
        if expected[n] != present[n]
    ]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the files drifted")
    args = parser.parse_args(argv)
    if args.check:
        problems = drift()
        for p in problems:
            print(p)
        return 1 if problems else 0
    EVENTS_DIR.mkdir(parents=True, exist_ok=True)
    files = render()
    for stale in set(p.name for p in EVENTS_DIR.glob("*.json")) - files.keys():
        (EVENTS_DIR / stale).unlink()
    for name, text in files.items():
        (EVENTS_DIR / name).write_text(text)
    print(f"wrote {len(files)} event schemas to {EVENTS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
