"""Serving the simulator with uvicorn on 127.0.0.1: in a background thread (tests, the demo)
or in the foreground (``cxpreview simulator``).

The listening socket is bound and listening before uvicorn starts, so its port is known at once
and a client that connects early waits in the backlog rather than being refused.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType

import uvicorn

from adapters.simulator.app import Simulator


def listening_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A TCP socket bound to ``host:port`` (0: any free port) and already listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it, a reply written as headers then body
    # waits out the client's delayed ACK (~40 ms a request on loopback).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def make_server(simulator: Simulator, tls_certfile: str | None = None) -> uvicorn.Server:
    """A quiet uvicorn server for the simulator's app (over TLS with a PEM holding the
    certificate chain and its key)."""
    config = uvicorn.Config(
        simulator.app,
        log_level="critical",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
        ssl_certfile=tls_certfile,
    )
    return uvicorn.Server(config)


class SimulatorServer:
    """The simulator on a loopback port for the length of a ``with`` block."""

    def __init__(
        self,
        simulator: Simulator,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls_certfile: str | None = None,
    ) -> None:
        self.simulator = simulator
        self._socket = listening_socket(host, port)
        host, port = self._socket.getsockname()[:2]
        self.base_url = f"{'https' if tls_certfile else 'http'}://{host}:{port}"
        self._server = make_server(simulator, tls_certfile)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name="cxone-simulator",
            daemon=True,
        )

    def start(self) -> SimulatorServer:
        """Serve in a background thread (at a REPL, where no ``with`` block is handy)."""
        if not self._thread.is_alive():
            self._thread.start()
        return self

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __repr__(self) -> str:
        state = "serving" if self._thread.is_alive() else "stopped"
        return f"<SimulatorServer {self.base_url} {state}>"

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Ask uvicorn to finish and wait for it; close the socket."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._socket.close()
