"""The compose stack's read-only ClickHouse user for analysts: the users.d file parses, makes
a read-only user with no secret in it, and compose mounts it where the server reads it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
USERS_D = "ops/compose/clickhouse/users.d/analyst.xml"


def analyst_config() -> ET.Element:
    return ET.parse(ROOT / USERS_D).getroot()  # noqa: S314 - our own file, not input


def test_the_analyst_profile_is_read_only_and_bounded() -> None:
    profile = analyst_config().find("profiles/analyst")
    assert profile is not None
    assert profile.findtext("readonly") in ("1", "2")  # 2: SET allowed, never readonly itself
    assert profile.findtext("allow_ddl") == "0"
    assert int(profile.findtext("max_execution_time") or 0) > 0
    assert profile.find("constraints/max_execution_time/max") is not None


def test_the_analyst_may_only_select_and_keeps_no_secret_in_the_file() -> None:
    user = analyst_config().find("users/analyst")
    assert user is not None
    assert user.findtext("profile") == "analyst"
    grants = [q.text or "" for q in user.findall("grants/query")]
    assert grants
    assert all(g.strip().upper().startswith("GRANT SELECT ON ") for g in grants)
    password = user.find("password")
    assert password is not None
    assert password.get("from_env")
    assert not (password.text or "").strip()
    assert user.find("password_sha256_hex") is None


def test_compose_mounts_it_into_the_clickhouse_servers_users_d() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    service = compose["services"]["clickhouse"]
    mounts = [str(v) for v in service["volumes"]]
    target = "/etc/clickhouse-server/users.d/analyst.xml"
    assert any(m.startswith(f"./{USERS_D}:{target}") and m.endswith(":ro") for m in mounts)
    env = analyst_config().find("users/analyst/password")
    assert env is not None
    assert env.get("from_env") in service["environment"]
