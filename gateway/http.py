"""Plain HTTP plumbing for the raw ASGI app: the request as parsed once, the response, the body."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from uuid import uuid4

from gateway.envelope import ApiError
from gateway.sessions import Credentials

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

JSON_CONTENT_TYPE = b"application/json; charset=utf-8"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class Request:
    """What the gateway needs from an ASGI scope, parsed once."""

    __slots__ = (
        "caller_key",
        "client_ip",
        "credentials",
        "headers",
        "method",
        "path",
        "query",
        "request_id",
        "user_id",
    )

    def __init__(self, scope: Scope) -> None:
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.query: bytes = scope.get("query_string", b"")
        self.headers: dict[bytes, bytes] = dict(scope["headers"])
        client = scope.get("client")
        self.client_ip: str = client[0] if client else ""
        incoming = self.headers.get(b"x-request-id", b"").decode("latin-1")
        self.request_id = incoming if _REQUEST_ID.match(incoming) else uuid4().hex
        self.credentials: Credentials | None = None
        # Who the request counts against: "user:<id>" when the token verifies, else "ip:<addr>".
        self.caller_key = f"ip:{self.client_ip}"
        self.user_id: str | None = None

    @property
    def authenticated(self) -> bool:
        """True when the request carries a credential (header or cookie)."""
        return self.credentials is not None and self.credentials.authorization is not None


class Response:
    """Status, headers and body bytes (JSON unless `content_type` says otherwise)."""

    __slots__ = ("body", "content_type", "headers", "status")

    def __init__(
        self,
        status: int,
        body: bytes,
        headers: list[tuple[bytes, bytes]] | None = None,
        content_type: bytes = JSON_CONTENT_TYPE,
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers or []
        self.content_type = content_type


async def read_body(receive: Receive, *, limit: int, timeout: float) -> bytes:
    """The whole body; 413 past `limit` bytes, 408 if the client is slower than `timeout`."""
    chunks: list[bytes] = []
    size = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            message = await asyncio.wait_for(receive(), max(0.001, deadline - loop.time()))
        except TimeoutError:
            raise ApiError(
                408, "REQUEST_TIMEOUT", "The request body did not arrive in time"
            ) from None
        if message["type"] == "http.disconnect":
            raise ApiError(400, "MALFORMED_REQUEST", "The client closed the connection")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "PAYLOAD_TOO_LARGE", f"The request body exceeds {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def json_depth(value: Any, limit: int) -> bool:
    """True when `value` nests deeper than `limit` (iterative: safe on hostile input)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False
