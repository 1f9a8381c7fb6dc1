"""A progress bar on stderr for long work (a line per few seconds when not a terminal)."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    def __init__(self, label: str, width: int = 30) -> None:
        self.label = label
        self.width = width
        self.started = time.monotonic()
        self.last_print = 0.0
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.tty and now - self.last_print < 5 and done < total:
            return
        self.last_print = now
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        share = done / total if total else 1.0
        eta = (total - done) / rate if rate and total > done else 0.0
        filled = int(self.width * share)
        line = (
            f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {share:6.1%}"
            f"  {done:,}/{total:,} events  {rate:,.0f}/s  ETA {eta:,.0f}s"
        )
        print(
            ("\r" + line) if self.tty else line,
            end="" if self.tty else "\n",
            file=sys.stderr,
            flush=True,
        )

    def close(self) -> None:
        if self.tty:
            print(file=sys.stderr)
