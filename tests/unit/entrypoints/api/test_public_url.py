"""The URL a provider signed, rebuilt behind proxies: configured base, trusted forwarded
headers (only from trusted peers), ports kept as sent, raw query kept, fragments dropped."""

from __future__ import annotations

from typing import Any

import pytest

from entrypoints.api.public_url import signed_url, trusted_networks

PROXIES = trusted_networks("10.0.0.0/8, 127.0.0.1")


def scope(
    *,
    peer: str = "10.1.2.3",
    host: str = "internal:8000",
    path: str = "/webhooks/twilio/voice-status",
    query: bytes = b"",
    scheme: str = "http",
    **headers: str,
) -> dict[str, Any]:
    return {
        "type": "http",
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "client": (peer, 51234),
        "headers": [(b"host", host.encode())]
        + [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()],
    }


def test_without_proxy_settings_the_request_url_is_used() -> None:
    assert (
        signed_url(scope(query=b"tenant=t1"), None, ())
        == "http://internal:8000/webhooks/twilio/voice-status?tenant=t1"
    )


def test_the_configured_public_base_wins_and_keeps_path_and_raw_query() -> None:
    url = signed_url(
        scope(query=b"a=1%202&b=x+y", X_Forwarded_Host="evil.example"),
        "https://hooks.example.com/sb/#ignored",
        PROXIES,
    )
    assert url == "https://hooks.example.com/sb/webhooks/twilio/voice-status?a=1%202&b=x+y"


def test_forwarded_proto_host_and_port_are_used_from_a_trusted_proxy() -> None:
    url = signed_url(
        scope(
            X_Forwarded_Proto="https", X_Forwarded_Host="hooks.example.com", X_Forwarded_Port="8443"
        ),
        None,
        PROXIES,
    )
    assert url == "https://hooks.example.com:8443/webhooks/twilio/voice-status"


def test_a_forwarded_host_with_a_port_keeps_it_and_ignores_forwarded_port() -> None:
    url = signed_url(
        scope(
            X_Forwarded_Proto="https",
            X_Forwarded_Host="hooks.example.com:4433",
            X_Forwarded_Port="443",
        ),
        None,
        PROXIES,
    )
    assert url == "https://hooks.example.com:4433/webhooks/twilio/voice-status"


def test_without_forwarded_port_the_host_is_used_without_a_port() -> None:
    url = signed_url(
        scope(X_Forwarded_Proto="https", X_Forwarded_Host="hooks.example.com"), None, PROXIES
    )
    assert url == "https://hooks.example.com/webhooks/twilio/voice-status"


def test_the_first_value_of_a_proxy_chain_is_the_edge() -> None:
    url = signed_url(
        scope(X_Forwarded_Proto="https, http", X_Forwarded_Host="a.example, b.internal"),
        None,
        PROXIES,
    )
    assert url == "https://a.example/webhooks/twilio/voice-status"


@pytest.mark.parametrize("peer", ["192.168.1.5", "not-an-ip", ""])
def test_forwarded_headers_from_an_untrusted_peer_are_ignored(peer: str) -> None:
    url = signed_url(
        scope(peer=peer, X_Forwarded_Proto="https", X_Forwarded_Host="hooks.example.com"),
        None,
        PROXIES,
    )
    assert url == "http://internal:8000/webhooks/twilio/voice-status"


def test_no_trusted_proxy_configured_means_forwarded_headers_are_ignored() -> None:
    url = signed_url(scope(X_Forwarded_Proto="https", X_Forwarded_Host="x.example"), None, ())
    assert url == "http://internal:8000/webhooks/twilio/voice-status"


def test_the_path_is_kept_encoded_as_sent() -> None:
    raw = scope(path="/webhooks/twilio/voice-status")
    raw["raw_path"] = b"/webhooks/twilio/voice%2Dstatus"
    assert signed_url(raw, "https://h.example", ()).endswith("/voice%2Dstatus")
