"""Named crash points: places where a test can make the process die with no cleanup at all.

Arm them with ``CXPREVIEW_CRASH_AT=name[,name...]`` in a child process's environment, or with
``arm()`` in process. Reaching an armed point sends SIGKILL to the process itself: no ``finally``,
no ``atexit``, no rollback but SQLite's own. Unarmed, a point costs one set lookup.
"""

from __future__ import annotations

import os
import signal

ENV_VAR = "CXPREVIEW_CRASH_AT"

_armed: frozenset[str] | None = None


def arm(*names: str) -> None:
    """Arm ``names`` in this process (replacing whatever was armed); no names disarms all."""
    global _armed  # noqa: PLW0603 - one process-wide switch is the point
    _armed = frozenset(names)


def crash_point(name: str) -> None:
    """Die here, by SIGKILL, if ``name`` is armed."""
    global _armed  # noqa: PLW0603 - read once from the environment, on first use
    if _armed is None:
        _armed = frozenset(n.strip() for n in os.environ.get(ENV_VAR, "").split(",") if n.strip())
    if name in _armed:
        os.kill(os.getpid(), signal.SIGKILL)
