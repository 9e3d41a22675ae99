"""Calling an ASGI app in process from a *synchronous* httpx client.

httpx's own ``ASGITransport`` serves only ``AsyncClient``; the gateway is synchronous. This
transport runs the async one on an event loop in a helper thread (an anyio blocking portal),
so tests hand ``httpx.Client(transport=InProcessTransport(simulator.app))`` to the real gateway
and everything but the socket is real.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import anyio.from_thread
import httpx


class InProcessTransport(httpx.BaseTransport):
    """A sync httpx transport that answers from an ASGI app in this process."""

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._portal_cm: AbstractContextManager[anyio.from_thread.BlockingPortal] = (
            anyio.from_thread.start_blocking_portal()
        )
        self._portal = self._portal_cm.__enter__()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the app and return its whole reply."""
        request.read()  # a fully buffered body serves both the sync and the async interface

        async def exchange() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            response = await self._inner.handle_async_request(request)
            content = await response.aread()
            return response.status_code, response.headers.raw, content

        status, headers, content = self._portal.call(exchange)
        return httpx.Response(status, headers=headers, content=content, request=request)

    def close(self) -> None:
        """Stop the helper thread's event loop."""
        self._portal_cm.__exit__(None, None, None)
