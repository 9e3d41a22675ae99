"""A faithful CXone stand-in: an ASGI app, its deterministic dataset, its fault plan, and a
uvicorn server for it on 127.0.0.1; and ``FakeCXoneGateway``, CXone in dicts behind the
gateway port, for tests and the REPL.

The served simulator needs the ``simulator`` extra (starlette and uvicorn:
``pip install 'cxpreview[simulator]'``); the core does not. Its parts are imported when first
named (``FakeCXoneGateway`` too: it brings the HTTP gateway's imports, a start-up cost), so
``FakeCXoneGateway`` and ``Dataset`` work without it, and naming a served part without the
extra raises ``SimulatorMissing`` (exit code 2) saying what to install.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from adapters.simulator.data import Dataset
from events.errors import CxpreviewError

if TYPE_CHECKING:
    from adapters.simulator.app import Simulator
    from adapters.simulator.fake import FakeCXoneGateway
    from adapters.simulator.faults import Fault, FaultPlan
    from adapters.simulator.server import SimulatorServer
    from adapters.simulator.shapes import Dialect

__all__ = [
    "Dataset",
    "Dialect",
    "FakeCXoneGateway",
    "Fault",
    "FaultPlan",
    "Simulator",
    "SimulatorMissing",
    "SimulatorServer",
]

SERVED = {
    "FakeCXoneGateway": "adapters.simulator.fake",  # needs no extra, but the gateway's imports
    "Simulator": "adapters.simulator.app",
    "SimulatorServer": "adapters.simulator.server",
    "Fault": "adapters.simulator.faults",
    "FaultPlan": "adapters.simulator.faults",
    "Dialect": "adapters.simulator.shapes",
}
"""The parts imported when first named, and the module each is in (all but
``FakeCXoneGateway`` need the ``simulator`` extra)."""
EXTRA = ("starlette", "uvicorn")


class SimulatorMissing(CxpreviewError):
    """The simulator was asked for, but its extra (starlette, uvicorn) is not installed."""

    def __init__(self, missing: str) -> None:
        super().__init__(
            f"the CXone simulator needs {missing}, which is not installed: it is the "
            "optional 'simulator' extra (pip install 'cxpreview[simulator]')"
        )


def __getattr__(name: str) -> Any:
    module = SERVED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing in EXTRA:
            raise SimulatorMissing(missing) from None
        raise


def __dir__() -> list[str]:
    return sorted(__all__)
