"""Sample events of any class, every field filled from its type hints; the DDL as data."""

from __future__ import annotations

import re
import types
import typing
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints
from uuid import UUID

from domain.campaign_limits import LimitsData

SCHEMAS = Path(__file__).resolve().parents[4] / "schemas" / "clickhouse"
PROJECT = "5d3c1a8e-0b1f-4c2e-9a55-1f6f0e7c2b10"
AGGREGATE = UUID("8a1f5c3e-7d2b-4e6f-9c1a-0b2d3e4f5a6b")
T0 = datetime(2026, 2, 12, 11, 48, 25, 123000, tzinfo=UTC)
LIMITS: LimitsData = {
    "max_attempts_per_contact": 2,
    "retry_interval_seconds": 3600,
    "window_start": "09:00:00",
    "window_end": "18:00:00",
    "timezone": "Europe/Berlin",
    "max_concurrent_calls": 2,
}
CONTACTS = [{"contact_id": "lead-anna", "phone_number": "+4915112345671"}]


def sample_value(name: str, hint: Any) -> Any:
    """A non-None value of the field's type (the first non-None member of a union)."""
    if get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(a for a in get_args(hint) if a is not type(None))
    special = {"project_id": PROJECT, "price": "-0.00750", "limits": LIMITS}
    if name in special:
        return special[name]
    if get_origin(hint) is list:
        return CONTACTS
    if hint is datetime:
        return T0
    if hint is int:
        return 7
    return f"{name}-value"


def sample_event(cls: type[Any], version: int = 3, **overrides: Any) -> Any:
    """An instance of an event class with every field set."""
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name == "originator_id":
            values[f.name] = AGGREGATE
        elif f.name == "originator_version":
            values[f.name] = version
        elif f.name == "timestamp":
            values[f.name] = T0
        else:
            values[f.name] = sample_value(f.name, hints[f.name])
    return cls(**(values | overrides))


def ddl_columns(file: str, table: str) -> dict[str, str]:
    """`name type` pairs of a CREATE TABLE in a migration, spaces removed from types."""
    sql = (SCHEMAS / file).read_text()
    body = re.search(rf"CREATE TABLE IF NOT EXISTS {table} \((.*?)\n\)", sql, re.S)
    assert body, f"no CREATE TABLE {table} in {file}"
    pairs = (line.strip().rstrip(",").split(None, 1) for line in body.group(1).splitlines())
    return {p[0]: p[1].replace(" ", "") for p in pairs if p and p[0] != "INDEX"}
