"""Lower a background process's CPU priority, so the live path gets the cores first.

Linux weighs a process's nice value only against the processes of its own scheduling
group. With the kernel's autogroup on (`/proc/sys/kernel/sched_autogroup_enabled`), every
session is a group, and `switchboard up` starts each component in a session of its own, so
there it is the group's nice (`/proc/self/autogroup`) that counts. Both are set; raising
either needs no privilege. Under systemd or a container runtime, CPU weight is the
service's or container's setting (`CPUWeight=`, `cpu_shares`), which this cannot change.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)
MAX_NICE = 19
AUTOGROUP = Path("/proc/self/autogroup")


def lower_priority(steps: int) -> None:
    """Raise this process's nice value by `steps` (up to 19), and its autogroup's when the
    process leads its session, as then the group is its own: a process started from a
    shell shares the shell's group, and would lower everything else in that terminal."""
    if steps <= 0:
        return
    nice = os.nice(steps)
    leads_session = os.getsid(0) == os.getpid()
    if leads_session and (group := autogroup_nice()) is not None:
        with contextlib.suppress(OSError):
            AUTOGROUP.write_text(str(min(MAX_NICE, group + steps)))
    log.info("running at lower CPU priority", extra={"nice": nice, "session": leads_session})


def autogroup_nice() -> int | None:
    """The nice value of this process's autogroup, or None when it has none: a kernel
    without autogroup has no file, and a process in the default group (one whose session
    descends from init without a `setsid`, as in many containers) reads an empty one."""
    try:
        fields = AUTOGROUP.read_text().split()  # "/autogroup-123 nice 0"
    except OSError:
        return None
    return int(fields[-1]) if fields else None
