"""X-Twilio-Signature, computed exactly as Twilio does (HMAC-SHA1 over URL + sorted params)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit, urlunsplit

Params = Iterable[tuple[str, str]]


def compute_signature(auth_token: str, url: str, params: Params = ()) -> str:
    """Names sorted case-sensitively; each name's distinct values sorted, as twilio-python."""
    grouped: dict[str, set[str]] = {}
    for name, value in params:
        grouped.setdefault(name, set()).add(value)
    payload = url + "".join(
        name + value for name in sorted(grouped) for value in sorted(grouped[name])
    )
    mac = _keyed(auth_token).copy()
    mac.update(payload.encode())
    return base64.b64encode(mac.digest()).decode()


@functools.lru_cache(maxsize=4096)
def _keyed(auth_token: str) -> hmac.HMAC:
    """The HMAC keyed once per token: copying it skips the key schedule per request."""
    return hmac.new(auth_token.encode(), digestmod=hashlib.sha1)


def strip_fragment(url: str) -> str:
    """Connection-override fragments (#rc=...) are never part of the signed URL."""
    return url.split("#", 1)[0]


def _with_port(url: str) -> str:
    parts = urlsplit(url)
    if parts.port:
        return url
    port = 443 if parts.scheme == "https" else 80
    return urlunsplit(parts._replace(netloc=f"{parts.netloc}:{port}"))


def _without_port(url: str) -> str:
    parts = urlsplit(url)
    if not parts.port:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]))


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def is_valid(
    auth_token: str,
    url: str,
    signature: str | None,
    params: Params = (),
    *,
    raw_body: bytes | None = None,
) -> bool:
    """Validate a request. Twilio is inconsistent about ports, so try with and without.

    Pass `raw_body` for JSON bodies: the URL must carry `bodySHA256`, the body must hash
    to it, and the signature then covers the URL alone.
    """
    if not signature:
        return False
    url = strip_fragment(url)
    expected = None
    if "?" in url and ("bodySHA256" in url or "%" in url):  # most URLs carry neither
        expected = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True)).get("bodySHA256")
    if raw_body is not None or expected is not None:
        # A raw (JSON) body is signed only through the URL's bodySHA256: both or neither.
        if raw_body is None or expected is None or not _same(body_hash(raw_body), expected):
            return False
        params = ()
    params = list(params)
    # The URL as received first; the other port variants (built only when needed) cover
    # the provider's known inconsistencies.
    if _same(compute_signature(auth_token, url, params), signature):
        return True
    variants = dict.fromkeys((_without_port(url), _with_port(url)))
    variants.pop(url, None)
    return any(_same(compute_signature(auth_token, c, params), signature) for c in variants)


def _same(a: str, b: str) -> bool:
    """Constant-time, and total: header values may hold any character."""
    return hmac.compare_digest(
        a.encode("utf-8", "surrogateescape"), b.encode("utf-8", "surrogateescape")
    )
