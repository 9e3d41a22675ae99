"""A faithful CXone stand-in: an ASGI app, its deterministic dataset, its fault plan, and a
uvicorn server for it on 127.0.0.1."""

from adapters.simulator.app import Simulator
from adapters.simulator.data import Dataset
from adapters.simulator.faults import Fault, FaultPlan
from adapters.simulator.server import SimulatorServer
from adapters.simulator.shapes import Dialect

__all__ = ["Dataset", "Dialect", "Fault", "FaultPlan", "Simulator", "SimulatorServer"]
