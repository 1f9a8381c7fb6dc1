"""Message reconcile asks for a repair only when the provider is ahead of the aggregate."""

from __future__ import annotations

from domain.message import Message, record_message_status
from domain.message_commands import RecordMessageStatus
from domain.message_reconcile import ProviderMessage, message_repair

PROJECT = "5d3c1a8e-0b1f-4c2e-9a55-1f6f0e7c2b10"
SID = "SM" + "a" * 32


def known(status: str) -> Message:
    cmd = RecordMessageStatus(operation_id="w", project_id=PROJECT, message_sid=SID, status=status)
    return record_message_status(None, cmd)[0]


def provider(status: str, error_code: int | None = None) -> ProviderMessage:
    return ProviderMessage(message_sid=SID, status=status, error_code=error_code, segments=1)


def test_an_unknown_message_is_recorded_with_the_providers_facts() -> None:
    cmd = message_repair(None, provider("undelivered", 30003), project_id=PROJECT)
    assert cmd is not None
    assert (cmd.status, cmd.error_code, cmd.operation_id) == (
        "undelivered",
        30003,
        f"reconcile:{SID}:status:undelivered",
    )
    message, _ = record_message_status(None, cmd)
    assert str(message.status) == "undelivered"
    assert message_repair(message, provider("undelivered", 30003), project_id=PROJECT) is None


def test_only_a_provider_ahead_of_us_asks_for_a_repair() -> None:
    assert message_repair(known("sent"), provider("delivered"), project_id=PROJECT) is not None
    assert message_repair(known("delivered"), provider("delivered"), project_id=PROJECT) is None
    assert message_repair(known("delivered"), provider("sent"), project_id=PROJECT) is None
    assert message_repair(known("sent"), provider("no-such-status"), project_id=PROJECT) is None
