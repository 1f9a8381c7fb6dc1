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
    key = new_api_key()
    conn.execute(
        "INSERT INTO api_keys (id, project_id, key_hash, key_prefix, role)"
        " VALUES (%s, %s, %s, %s, %s)",
        (str(uuid.uuid4()), project_id, hash_key(key), key[:10], role),
    )
    return key


class ProjectDirectory:
    """Async lookups on the request path, cached briefly so a webhook costs one INSERT."""

    def __init__(self, pool: Any, ttl_seconds: float = 30.0) -> None:
        self.pool = pool
        self.ttl = ttl_seconds
        self._accounts: dict[str, tuple[float, Project | None]] = {}
        self._keys: dict[bytes, tuple[float, Principal | None]] = {}

    async def by_account_sid(self, account_sid: str) -> Project | None:
        hit = self._accounts.get(account_sid)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT id::text AS id, name, twilio_account_sid, twilio_auth_token,"
                " provider_api_url FROM projects WHERE twilio_account_sid = %s",
                (account_sid,),
            )
            row = await cur.fetchone()
        project = Project(**row) if row else None
        self._accounts[account_sid] = (time.monotonic() + self.ttl, project)
        return project

    async def by_api_key(self, key: str) -> Principal | None:
        digest = hash_key(key)
        hit = self._keys.get(digest)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT project_id::text AS project_id, role, id::text AS key_id FROM api_keys"
                " WHERE key_hash = %s AND revoked_at IS NULL",
                (digest,),
            )
            row = await cur.fetchone()
        principal = Principal(**row) if row else None
        self._keys[digest] = (time.monotonic() + self.ttl, principal)
        return principal
