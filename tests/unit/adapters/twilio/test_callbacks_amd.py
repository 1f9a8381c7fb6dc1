"""A voice callback's AMD verdict (AnsweredBy) reaches the command, so the call keeps it."""

from __future__ import annotations

from adapters.twilio.callbacks import voice_status_command
from support import voice_callback


def test_answered_by_is_carried_into_the_command() -> None:
    params = voice_callback("AC" + "1" * 32, "CA" + "2" * 32, "in-progress", 2)
    cmd = voice_status_command(
        {**params, "AnsweredBy": "machine_start"}, operation_id="o", project_id="p", trace_id=""
    )
    assert cmd.answered_by == "machine_start"
    plain = voice_status_command(params, operation_id="o", project_id="p", trace_id="")
    assert plain.answered_by is None
