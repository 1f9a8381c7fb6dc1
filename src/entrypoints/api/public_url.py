"""The URL a provider signed, as it was before any proxy: configured, or forwarded by a
proxy we trust, or else the request's own. Fragments never count (Twilio drops them)."""

from __future__ import annotations

import ipaddress
from collections.abc import MutableMapping, Sequence
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(spec: str) -> tuple[Network, ...]:
    """`10.0.0.0/8, 127.0.0.1` -> networks; a bare address is a /32 (or /128)."""
    return tuple(
        ipaddress.ip_network(p.strip(), strict=False) for p in spec.split(",") if p.strip()
    )


def is_trusted(peer: str | None, networks: Sequence[Network]) -> bool:
    if not peer or not networks:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in n for n in networks)


def _first(headers: dict[bytes, bytes], name: bytes) -> str | None:
    """The client-facing value: a chain of proxies appends, so the first one is the edge's."""
    value = headers.get(name)
    if value is None:
        return None
    return value.decode("latin-1").split(",", 1)[0].strip() or None


def signed_url(
    scope: MutableMapping[str, Any], base: str | None, trusted: Sequence[Network]
) -> str:
    """Path and query always come from the request, exactly as sent (still encoded)."""
    raw_path = scope.get("raw_path")
    path: str = raw_path.decode("latin-1") if raw_path else scope["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    tail = path + (f"?{query}" if query else "")
    if base:
        return base.split("#", 1)[0].rstrip("/") + tail
    headers = dict(scope["headers"])
    scheme = scope.get("scheme", "http")
    host = _first(headers, b"host") or "localhost"
    client = scope.get("client")
    if is_trusted(client[0] if client else None, trusted):
        scheme = _first(headers, b"x-forwarded-proto") or scheme
        host = _first(headers, b"x-forwarded-host") or host
        port = _first(headers, b"x-forwarded-port")
        if port and port.isdigit() and not _has_port(host):
            host = f"{host}:{port}"
    return f"{scheme}://{host}{tail}"


def _has_port(host: str) -> bool:
    return host.rsplit("]", 1)[-1].count(":") == 1 if host.startswith("[") else ":" in host
