"""Short-lived, project-scoped realtime tokens (EventSource cannot send headers)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


class RealtimeTokens:
    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self.secret = secret.encode()
        self.ttl = ttl_seconds

    def issue(self, project_id: str, now: float | None = None) -> tuple[str, int]:
        expires = int((now or time.time()) + self.ttl)
        claims = f"{project_id}|{expires}".encode()
        return f"{_b64(claims)}.{_b64(self._sign(claims))}", expires

    def verify(self, token: str, now: float | None = None) -> str | None:
        """Return the project id, or None when the token is forged, garbled or expired."""
        try:
            claims_part, sig_part = token.split(".", 1)
            claims = base64.urlsafe_b64decode(claims_part + "==")
            sig = base64.urlsafe_b64decode(sig_part + "==")
            project_id, expires = claims.decode().split("|")
        except ValueError:
            return None
        if not hmac.compare_digest(sig, self._sign(claims)):
            return None
        if int(expires) < (now or time.time()):
            return None
        return project_id

    def _sign(self, claims: bytes) -> bytes:
        return hmac.new(self.secret, claims, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
