"""Whether a process id names a live process."""

from __future__ import annotations

import os


def process_alive(pid: int) -> bool:
    """True if a process with this id exists (one of another user's counts too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
