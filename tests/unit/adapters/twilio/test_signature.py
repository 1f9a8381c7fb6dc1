"""X-Twilio-Signature: Twilio's published vectors, and agreement with twilio-python's validator."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from adapters.twilio.signature import body_hash, compute_signature, is_valid, strip_fragment

# Vectors from twilio-python's tests/unit/test_request_validator.py (reference §4.7).
TOKEN = "12345"
URI = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
SIGNED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
JSON_BODY = b'{"property": "value", "boolean": true}'
JSON_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
JSON_SIGNED = "a9nBmqA0ju/hNViExpshrM61xv4="

STATUS_CALLBACK = [
    ("AccountSid", "AC" + "a" * 32),
    ("ApiVersion", "2010-04-01"),
    ("CallSid", "CA" + "b" * 32),
    ("CallStatus", "completed"),
    ("CallDuration", "42"),
    ("Duration", "1"),
    ("SipResponseCode", "200"),
    ("Direction", "outbound-api"),
    ("From", "+15005550006"),
    ("To", "+14155551212"),
    ("Timestamp", "Thu, 12 Feb 2026 11:48:25 +0000"),
    ("CallbackSource", "call-progress-events"),
    ("SequenceNumber", "3"),
]


def pairs(params: dict[str, str]) -> list[tuple[str, str]]:
    return list(params.items())


def test_signature_matches_twilio_python_vector() -> None:
    assert compute_signature(TOKEN, URI, pairs(PARAMS)) == SIGNED


def test_signature_matches_the_twilio_docs_example() -> None:
    params = [
        ("Digits", "1234"),
        ("To", "+18005551212"),
        ("From", "+14158675310"),
        ("Caller", "+14158675310"),
        ("CallSid", "CA1234567890ABCDE"),
    ]

    assert (
        compute_signature(TOKEN, "https://example.com/myapp.php?foo=1&bar=2", params)
        == "L/OH5YylLD5NRKLltdqwSvS0BnU="
    )


def test_signature_of_a_realistic_status_callback() -> None:
    url = "https://example.com/twilio/voice/status?tenant=t1"

    assert compute_signature(TOKEN, url, STATUS_CALLBACK) == "qal7pYh4MGXgbnh0nWjujkJpLeU="
    assert is_valid(TOKEN, url, "qal7pYh4MGXgbnh0nWjujkJpLeU=", STATUS_CALLBACK)


@pytest.mark.parametrize(
    ("signed_url", "signature"),
    [
        ("https://mycompany.com:443/myapp.php?foo=1&bar=2", "kvajT1Ptam85bY51eRf/AJRuM3w="),
        ("http://mycompany.com:80/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4="),
        ("http://mycompany.com:1234/myapp.php?foo=1&bar=2", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
        ("http://mycompany.com/myapp.php?foo=1&bar=2", "OyGYPqTF6ztdbRNCvuQO/oPvqQ4="),
    ],
)
def test_signature_matches_vectors_with_and_without_port(signed_url: str, signature: str) -> None:
    assert compute_signature(TOKEN, signed_url, pairs(PARAMS)) == signature
    assert is_valid(TOKEN, signed_url, signature, pairs(PARAMS))


def test_https_request_signed_with_default_port_validates_without_it() -> None:
    assert is_valid(TOKEN, URI, "kvajT1Ptam85bY51eRf/AJRuM3w=", pairs(PARAMS))


def test_http_request_signed_with_default_port_validates_without_it() -> None:
    http = "http://mycompany.com/myapp.php?foo=1&bar=2"

    assert is_valid(TOKEN, http, "0ZXoZLH/DfblKGATFgpif+LLRf4=", pairs(PARAMS))


def test_request_on_a_custom_port_validates_a_signature_made_without_the_port() -> None:
    custom_port = "https://mycompany.com:1234/myapp.php?foo=1&bar=2"

    assert is_valid(TOKEN, custom_port, SIGNED, pairs(PARAMS))


def test_repeated_params_are_signed_once_per_distinct_value_in_sorted_order() -> None:
    params = [
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]

    assert compute_signature(TOKEN, URI, params) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    assert is_valid(TOKEN, URI, "IK+Dwps556ElfBT0I3Rgjkr1wJU=", params)


def test_json_body_hash_is_lowercase_hex_sha256() -> None:
    assert body_hash(JSON_BODY) == JSON_HASH
    docs_body = b'{"CallSid":"CA1234567890ABCDE","Caller":"+12349013030"}'
    assert body_hash(docs_body) == (
        "5ccde7145dfb8f56479710896586cb9d5911809d83afbe34627818790db0aec9"
    )


def test_json_body_is_valid_when_the_url_carries_its_hash() -> None:
    url = f"{URI}&bodySHA256={JSON_HASH}"

    assert is_valid(TOKEN, url, JSON_SIGNED, raw_body=JSON_BODY)


def test_json_signature_covers_the_url_alone_whatever_params_are_passed() -> None:
    url = f"{URI}&bodySHA256={JSON_HASH}"

    assert is_valid(TOKEN, url, JSON_SIGNED, [("property", "value")], raw_body=JSON_BODY)


def test_tampered_json_body_is_rejected() -> None:
    url = f"{URI}&bodySHA256={JSON_HASH}"
    forged = b'{"property": "value", "boolean": false}'

    assert not is_valid(TOKEN, url, JSON_SIGNED, raw_body=forged)


def test_json_signed_url_without_its_body_is_rejected() -> None:
    url = f"{URI}&bodySHA256={JSON_HASH}"

    assert not is_valid(TOKEN, url, JSON_SIGNED)


def test_json_body_not_covered_by_a_body_hash_is_rejected() -> None:
    # Without bodySHA256 in the URL the signature covers the URL alone, so the body
    # would be accepted unauthenticated.
    url = "https://example.com/webhooks/twilio/voice-status"
    url_only = compute_signature(TOKEN, url)
    forged = b'{"AccountSid": "AC1", "CallSid": "CA1", "CallStatus": "completed"}'

    assert not is_valid(TOKEN, url, url_only, raw_body=forged)


def test_tampered_param_value_is_rejected() -> None:
    tampered = {**PARAMS, "Digits": "1235"}

    assert not is_valid(TOKEN, URI, SIGNED, pairs(tampered))


def test_added_param_is_rejected() -> None:
    assert not is_valid(TOKEN, URI, SIGNED, [*pairs(PARAMS), ("CallStatus", "completed")])


def test_tampered_url_is_rejected() -> None:
    assert not is_valid(TOKEN, "https://mycompany.com/myapp.php?foo=1&bar=3", SIGNED, pairs(PARAMS))


def test_signature_made_with_another_token_is_rejected() -> None:
    assert not is_valid("54321", URI, SIGNED, pairs(PARAMS))


@pytest.mark.parametrize("missing", [None, ""])
def test_missing_signature_is_rejected(missing: str | None) -> None:
    assert not is_valid(TOKEN, URI, missing, pairs(PARAMS))


@pytest.mark.parametrize("garbage", ["é", "RSOYDt4T1cUTdK1PDd93/VVr8B8é", "\x00\xff"])
def test_garbage_signature_header_is_rejected_not_raised(garbage: str) -> None:
    # Header values arrive latin-1 decoded, so any byte can show up here.
    assert is_valid(TOKEN, URI, garbage, pairs(PARAMS)) is False


def test_garbage_body_hash_in_the_url_is_rejected_not_raised() -> None:
    url = f"{URI}&bodySHA256=%C3%A9"

    assert is_valid(TOKEN, url, JSON_SIGNED, raw_body=JSON_BODY) is False


def test_connection_override_fragment_is_not_part_of_the_signed_url() -> None:
    with_fragment = URI + "#rc=2&rp=all"

    assert strip_fragment(with_fragment) == URI
    assert is_valid(TOKEN, with_fragment, SIGNED, pairs(PARAMS))


# Cross-check against twilio-python for arbitrary requests.

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_name = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
_segment = st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd")), max_size=8)


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https"]))
    host = draw(st.from_regex(r"[a-z][a-z0-9-]{0,15}\.[a-z]{2,6}", fullmatch=True))
    port = draw(st.none() | st.integers(1, 65535))
    path = "/".join(draw(st.lists(_segment, max_size=4)))
    query = urlencode(draw(st.lists(st.tuples(_name, _text), max_size=3)))
    netloc = host if port is None else f"{host}:{port}"
    return f"{scheme}://{netloc}/{path}" + (f"?{query}" if query else "")


class MultiDict:
    """The Flask/Werkzeug shape RequestValidator reads repeated params from."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self.items = items

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self.items))

    def __bool__(self) -> bool:
        return bool(self.items)

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self.items if key == name]


_tokens = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)
_param_lists = st.lists(st.tuples(_name, _text), max_size=8)


@settings(max_examples=200, deadline=None)
@given(token=_tokens, url=urls(), params=st.dictionaries(_name, _text, max_size=8))
def test_signature_equals_twilio_python_for_any_request(
    token: str, url: str, params: dict[str, str]
) -> None:
    theirs = RequestValidator(token).compute_signature(url, params)

    assert compute_signature(token, url, params.items()) == theirs


@settings(max_examples=200, deadline=None)
@given(token=_tokens, url=urls(), params=_param_lists)
def test_signature_equals_twilio_python_for_repeated_params(
    token: str, url: str, params: list[tuple[str, str]]
) -> None:
    theirs = RequestValidator(token).compute_signature(url, MultiDict(params))

    assert compute_signature(token, url, params) == theirs


@settings(max_examples=200, deadline=None)
@given(token=_tokens, url=urls(), params=_param_lists)
def test_what_twilio_python_signs_is_valid(
    token: str, url: str, params: list[tuple[str, str]]
) -> None:
    signature = RequestValidator(token).compute_signature(url, MultiDict(params))

    assert is_valid(token, url, signature, params)
    assert RequestValidator(token).validate(url, MultiDict(params), signature)


@settings(max_examples=200, deadline=None)
@given(url=urls(), params=st.dictionaries(_name, _text, min_size=1, max_size=8), suffix=_name)
def test_changing_any_param_value_invalidates_the_signature(
    url: str, params: dict[str, str], suffix: str
) -> None:
    signature = compute_signature(TOKEN, url, params.items())
    name = next(iter(params))
    tampered = {**params, name: params[name] + suffix}

    assert not is_valid(TOKEN, url, signature, tampered.items())
