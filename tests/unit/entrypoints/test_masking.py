"""What an operator sees of a stored webhook: the shape, never the PII or the secrets."""

from __future__ import annotations

from entrypoints.masking import REDACTED, mask_payload


def test_phone_numbers_are_partly_hidden_wherever_they_appear() -> None:
    masked = mask_payload(
        {
            "From": "+14155550100",
            "To": "whatsapp:+16505550199",
            "Caller": "client:alice",
            "ForwardedFrom": "+442071838750",
            "Custom": "+33612345678",
        }
    )
    assert masked["From"] == "+1415*****00"
    assert masked["To"] == "whatsapp:+1650*****99"
    assert masked["Caller"] == "client:*****"
    assert "2071838" not in masked["ForwardedFrom"]
    assert "612345" not in masked["Custom"]


def test_secrets_message_text_and_caller_names_are_removed() -> None:
    masked = mask_payload(
        {
            "AuthToken": "s3cret",
            "X-Signature": "abc",
            "Body": "my PIN is 1234",
            "CallerName": "Alice Smith",
        }
    )
    assert set(masked.values()) == {REDACTED}


def test_credentials_in_urls_are_dropped_and_the_rest_kept() -> None:
    masked = mask_payload(
        {
            "RecordingUrl": "https://AC1:tok@api.twilio.com/rec/RE1",
            "CallSid": "CA1",
            "SequenceNumber": "12345678",
            "Digits": ["1", "2"],
        }
    )
    assert masked == {
        "RecordingUrl": "https://api.twilio.com/rec/RE1",
        "CallSid": "CA1",
        "SequenceNumber": "12345678",
        "Digits": ["1", "2"],
    }
