"""The live monitor page and the health probe."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["pages"])
_MONITOR = Path(__file__).resolve().parents[1] / "static" / "monitor.html"


@router.get("/monitor", response_class=HTMLResponse, summary="Live monitor of active calls")
async def monitor() -> HTMLResponse:
    return HTMLResponse(_MONITOR.read_text())


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
