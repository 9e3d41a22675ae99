"""What the simulator's replies look like: the real-world variants of the REST shapes it can
speak, and a reply cut off mid-way (a dropped connection)."""

from __future__ import annotations

import attrs
from starlette.responses import Response
from starlette.types import Receive, Scope, Send


@attrs.frozen
class Dialect:
    """Which of the real-world variants of the REST shapes the simulator speaks."""

    items_key: str = "entity"  # or "entities"
    next_key: str = "nextPageUri"  # or "nextUri"
    absolute_next: bool = False
    last_page_next: str = "null"  # "null", "absent" or "empty"


class DroppedReply(Response):
    """Starts a reply, then cuts the connection: what a client sees of a dropped link."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"entity": [', "more_body": True})
        raise ConnectionAbortedError("the simulator dropped this connection on purpose")
