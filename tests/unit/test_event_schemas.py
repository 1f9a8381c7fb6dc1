"""schemas/events/ is generated from the event classes (`make schemas`) and must not drift."""

from __future__ import annotations

import json
from dataclasses import fields

from domain.catalog import event_classes
from ops.schemas import drift, render

ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def test_event_schema_files_match_the_event_classes() -> None:
    assert drift() == [], "event schemas drifted from the code: run `make schemas`"


def test_every_event_and_every_field_is_documented() -> None:
    rendered = render()
    for name, cls in event_classes().items():
        doc = (cls.__doc__ or "").strip()
        assert doc, name
        assert not doc.startswith(f"{cls.__name__}("), f"{name} has no docstring of its own"
        properties = json.loads(rendered[f"{name}.json"])["properties"]
        for field in fields(cls):
            if field.name not in ENVELOPE:
                assert properties[field.name].get("description"), (name, field.name)


def test_a_new_field_makes_the_drift_check_fail(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for file_name, text in render().items():
        (tmp_path / file_name).write_text(text.replace('"call_sid"', '"callSid"'))

    assert any(p.startswith("changed ") for p in drift(tmp_path))
