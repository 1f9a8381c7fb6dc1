"""Projects (tenants) and their API keys. Keys are stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

KEY_PREFIX = "sb_"
ROLES = ("admin", "operator", "analyst", "auditor", "viewer")
"""What an API key may be (schemas/postgres/0013_api_key_roles.sql checks the same list)."""
SEES_PHONE_NUMBERS = frozenset({"admin", "auditor"})
"""Roles that read phone numbers unmasked in exports."""


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    twilio_account_sid: str
    twilio_auth_token: str
    provider_api_url: str | None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling the API: a key's project and role."""

    project_id: str
    role: str
    key_id: str


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class UnknownRole(ValueError):
    """An API key role outside ROLES."""

    def __init__(self, role: str) -> None:
        super().__init__(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")


class ProjectAlreadyExists(Exception):
    """A project with this Twilio AccountSid exists already."""


def create_project(
    database_url: str,
    *,
    name: str,
    twilio_account_sid: str,
    twilio_auth_token: str,
    provider_api_url: str | None = None,
) -> tuple[Project, str]:
    """Create a project and its first (admin) API key; return the key in clear, once."""
    project = Project(
        str(uuid.uuid4()), name, twilio_account_sid, twilio_auth_token, provider_api_url
    )
    with psycopg.connect(database_url) as conn:
        try:
            conn.execute(
                "INSERT INTO projects (id, name, twilio_account_sid, twilio_auth_token,"
                " provider_api_url) VALUES (%s, %s, %s, %s, %s)",
                (project.id, name, twilio_account_sid, twilio_auth_token, provider_api_url),
            )
        except psycopg.errors.UniqueViolation as exc:
            raise ProjectAlreadyExists(twilio_account_sid) from exc
        key = _insert_key(conn, project.id, "admin")
    return project, key


def find_project_by_account(database_url: str, account_sid: str) -> Project | None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT id::text, name, twilio_account_sid, twilio_auth_token, provider_api_url"
            " FROM projects WHERE twilio_account_sid = %s",
            (account_sid,),
        ).fetchone()
    return Project(*row) if row else None


def issue_api_key(database_url: str, project_id: str, role: str = "admin") -> str:
    with psycopg.connect(database_url) as conn:
        return _insert_key(conn, project_id, role)


def _insert_key(conn: psycopg.Connection[Any], project_id: str, role: str) -> str:
    if role not in ROLES:
        raise UnknownRole(role)
    key = new_api_key()
    conn.execute(
        "INSERT INTO api_keys (id, project_id, key_hash, key_prefix, role)"
        " VALUES (%s, %s, %s, %s, %s)",
        (str(uuid.uuid4()), project_id, hash_key(key), key[:10], role),
    )
    return key


class ProjectDirectory:
    """Async lookups on the request path, cached briefly so a webhook costs one INSERT.

    Misses are cached too (a retrying misconfigured sender costs no query), so the cache is
    bounded: a caller spraying random keys cannot grow it without limit.
    """

    def __init__(self, pool: Any, ttl_seconds: float = 30.0, max_entries: int = 10_000) -> None:
        self.pool = pool
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._cache: dict[tuple[str, Any], tuple[float, Any]] = {}

    async def by_account_sid(self, account_sid: str) -> Project | None:
        row = await self._lookup(
            "SELECT id::text AS id, name, twilio_account_sid, twilio_auth_token,"
            " provider_api_url FROM projects WHERE twilio_account_sid = %s",
            account_sid,
        )
        return Project(**row) if row else None

    async def by_api_key(self, key: str) -> Principal | None:
        row = await self._lookup(
            "SELECT project_id::text AS project_id, role, id::text AS key_id FROM api_keys"
            " WHERE key_hash = %s AND revoked_at IS NULL",
            hash_key(key),
        )
        return Principal(**row) if row else None

    async def _lookup(self, query: str, value: Any) -> dict[str, Any] | None:
        now = time.monotonic()
        hit = self._cache.get((query, value))
        if hit and hit[0] > now:
            row: dict[str, Any] | None = hit[1]
            return row
        async with self.pool.connection() as conn:
            cur = await conn.execute(query, (value,))
            row = await cur.fetchone()
        if len(self._cache) >= self.max_entries:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            if len(self._cache) >= self.max_entries:
                self._cache.clear()
        self._cache[(query, value)] = (now + self.ttl, row)
        return row


def set_provider_api_url(database_url: str, project_id: str, url: str | None) -> None:
    """Where reconcile reads the provider's REST API (the simulator, or Twilio)."""
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE projects SET provider_api_url = %s WHERE id = %s", (url, project_id))
