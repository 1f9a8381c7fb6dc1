"""Realtime tokens: a browser's short-lived, project-scoped pass to the live feed."""

from __future__ import annotations

import base64
import re

import pytest

from entrypoints.api.tokens import RealtimeTokens

SECRET = "realtime-secret-for-tests"
PROJECT = "5d3c1a8e-0b1f-4c2e-9a55-1f6f0e7c2b10"
NOW = 1_770_000_000.0
TTL = 300


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@pytest.fixture
def tokens() -> RealtimeTokens:
    return RealtimeTokens(SECRET, ttl_seconds=TTL)


def test_issued_token_verifies_to_its_project(tokens: RealtimeTokens) -> None:
    token, expires = tokens.issue(PROJECT, now=NOW)

    assert expires == int(NOW) + TTL
    assert tokens.verify(token, now=NOW) == PROJECT
    assert tokens.verify(token, now=NOW + TTL - 1) == PROJECT


def test_token_is_safe_to_put_in_a_query_string(tokens: RealtimeTokens) -> None:
    token, _ = tokens.issue(PROJECT, now=NOW)

    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)


def test_token_issued_by_another_instance_with_the_same_secret_verifies() -> None:
    token, _ = RealtimeTokens(SECRET, ttl_seconds=TTL).issue(PROJECT, now=NOW)

    assert RealtimeTokens(SECRET, ttl_seconds=TTL).verify(token, now=NOW) == PROJECT


def test_expired_token_is_refused(tokens: RealtimeTokens) -> None:
    token, expires = tokens.issue(PROJECT, now=NOW)

    assert tokens.verify(token, now=expires + 1) is None


def test_token_without_explicit_clock_uses_the_current_time(tokens: RealtimeTokens) -> None:
    token, _ = tokens.issue(PROJECT)
    stale, _ = tokens.issue(PROJECT, now=NOW - 10 * TTL)

    assert tokens.verify(token) == PROJECT
    assert tokens.verify(stale) is None


def test_token_signed_with_another_secret_is_refused(tokens: RealtimeTokens) -> None:
    forged, _ = RealtimeTokens("another-secret", ttl_seconds=TTL).issue(PROJECT, now=NOW)

    assert tokens.verify(forged, now=NOW) is None


def test_token_moved_to_another_project_is_refused(tokens: RealtimeTokens) -> None:
    token, expires = tokens.issue(PROJECT, now=NOW)
    _, signature = token.split(".")
    other = b64(f"0e2a7c55-3b8d-4f61-a1c4-9d2e8b7f6a30|{expires}".encode())

    assert tokens.verify(f"{other}.{signature}", now=NOW) is None


def test_token_with_an_extended_expiry_is_refused(tokens: RealtimeTokens) -> None:
    token, expires = tokens.issue(PROJECT, now=NOW)
    _, signature = token.split(".")
    extended = b64(f"{PROJECT}|{expires + 86_400}".encode())

    assert tokens.verify(f"{extended}.{signature}", now=NOW) is None


def test_token_with_a_changed_signature_is_refused(tokens: RealtimeTokens) -> None:
    token, _ = tokens.issue(PROJECT, now=NOW)
    claims, signature = token.split(".")
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]

    assert tokens.verify(f"{claims}.{flipped}", now=NOW) is None


@pytest.mark.parametrize(
    "garbage",
    ["", "no-dot", ".", "a.b", "!!!.???", "\u00e9.\u00e9", "a.b.c", b64(b"only-claims") + "."],
)
def test_garbled_token_is_refused_without_raising(tokens: RealtimeTokens, garbage: str) -> None:
    assert tokens.verify(garbage, now=NOW) is None
