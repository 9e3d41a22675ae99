"""A faithful CXone stand-in: an ASGI app, its deterministic dataset, its fault plan, and a
uvicorn server for it on 127.0.0.1; and ``FakeCXoneGateway``, CXone in dicts behind the
gateway port, for tests and the REPL."""

from adapters.simulator.app import Simulator
from adapters.simulator.data import Dataset
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
    "SimulatorServer",
]
