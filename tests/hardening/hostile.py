"""A hostile stand-in for CXone on 127.0.0.1: it answers every path with what a test scripts,
including replies that drip a byte at a time, nest without end or name the wrong campaign."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs

from adapters.cxone import Credentials, HttpCXoneGateway, RetryPolicy, Secret

SECRET = "hostile-S3cret-never-echoed-back"
TOKEN = "tok-hostile-0001"


@attrs.define
class Reply:
    """What the server sends for one request: a status, a body, and optionally a drip."""

    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    drip: float | None = None  # seconds between single bytes of the body
    headers: dict[str, str] = attrs.Factory(dict)


Script = Callable[[str, str, bytes], Reply]
"""``(method, path, request body) -> Reply``."""


def token_reply(expires_in: Any = 600) -> Reply:
    return Reply(body=json.dumps({"access_token": TOKEN, "expires_in": expires_in}).encode())


class _Handler(BaseHTTPRequestHandler):
    script: Script
    seen: list[tuple[str, str]]

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append((self.command, self.path))
        reply = self.script(self.command, self.path, body)
        self.send_response(reply.status)
        self.send_header("content-type", reply.content_type)
        self.send_header("content-length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if reply.drip is None:
            self.wfile.write(reply.body)
            return
        for i in range(len(reply.body)):  # bounded by the body's length
            self.wfile.write(reply.body[i : i + 1])
            self.wfile.flush()
            time.sleep(reply.drip)

    do_GET = do_POST = do_PUT = _answer


@contextmanager
def hostile(script: Script) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """The server on a free loopback port: its base URL and the requests it saw."""
    seen: list[tuple[str, str]] = []
    handler = type("Handler", (_Handler,), {"script": staticmethod(script), "seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def gateway_for(base_url: str, *, deadline: float = 2.0, timeout: float = 15.0) -> HttpCXoneGateway:
    return HttpCXoneGateway(
        Credentials(base_url, "cxpreview", Secret(SECRET)),
        policy=RetryPolicy(deadline=deadline, base=0.01, cap=0.05),
        timeout=timeout,
    )
