"""Candidate HTTP apps for the gateway server benchmark (see run.py).

Every app serves the same handler so that only the server/framework differs:

* ``GET  /v1/items/{item_id}`` returns a ~300-byte JSON document;
* ``POST /v1/items/{item_id}`` reads and parses a small JSON body and returns a
  ~300-byte JSON document that echoes some of its fields;
* both set three custom headers (one echoes the ``x-request-id`` request header);
* anything else is a 404 with a small JSON error body.

Bodies are encoded with orjson. The apps are:

* ``raw_asgi``     -- a bare ASGI 3 callable (with lifespan support);
* ``starlette_app`` -- a Starlette application with one ``Route``;
* ``raw_rsgi``     -- a bare RSGI app for granian's native interface (reference).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

if TYPE_CHECKING:
    from granian._granian import RSGIHTTPProtocol
    from granian.rsgi import Scope as RSGIScope

ASGIScope = MutableMapping[str, Any]
ASGIMessage = MutableMapping[str, Any]
ASGIReceive = Callable[[], Awaitable[ASGIMessage]]
ASGISend = Callable[[ASGIMessage], Awaitable[None]]

PATH_PREFIX = "/v1/items/"
UPSTREAM_SERVICE = "items.v1.ItemService"
SERVED_BY = "gateway-bench"
NOT_FOUND_BODY = orjson.dumps({"code": 5, "message": "not found", "details": []})


class BadRequestError(ValueError):
    """The request body is not a JSON object."""


def build_payload(item_id: str, request: dict[str, Any] | None) -> bytes:
    """Build the ~300-byte JSON response shared by every candidate app."""
    req = request or {}
    doc = {
        "item": {
            "id": item_id,
            "name": req.get("name", "default-widget"),
            "quantity": req.get("quantity", 1),
            "price": {"currency_code": "EUR", "units": 12, "nanos": 500000000},
            "tags": req.get("tags", ["catalog", "v1"]),
            "state": "ITEM_STATE_ACTIVE",
            "create_time": "2024-05-01T12:00:00Z",
        },
        "etag": 'W/"5f2b8c1e"',
        "links": {"self": PATH_PREFIX + item_id, "collection": "/v1/items"},
        "next_page_token": "",
    }
    return orjson.dumps(doc)


def parse_body(body: bytes) -> dict[str, Any] | None:
    """Parse a JSON object body; an empty body is ``None``."""
    if not body:
        return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequestError(str(exc)) from exc
    if not isinstance(parsed, dict):
        raise BadRequestError("body must be a JSON object")
    return parsed


def response_headers(request_id: str) -> list[tuple[str, str]]:
    """The three custom headers plus content-type (string form)."""
    return [
        ("content-type", "application/json"),
        ("x-request-id", request_id),
        ("x-upstream-service", UPSTREAM_SERVICE),
        ("x-served-by", SERVED_BY),
    ]


# --------------------------------------------------------------------------- #
# 1. raw ASGI
# --------------------------------------------------------------------------- #


async def _read_asgi_body(receive: ASGIReceive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _asgi_lifespan(receive: ASGIReceive, send: ASGISend) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def raw_asgi(scope: ASGIScope, receive: ASGIReceive, send: ASGISend) -> None:
    """Bare ASGI 3 app."""
    if scope["type"] == "lifespan":
        await _asgi_lifespan(receive, send)
        return
    if scope["type"] != "http":
        return

    request_id = "-"
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            request_id = value.decode("latin-1")
            break

    path: str = scope["path"]
    method: str = scope["method"]
    status = 200
    if path.startswith(PATH_PREFIX) and len(path) > len(PATH_PREFIX) and method in ("GET", "POST"):
        item_id = path[len(PATH_PREFIX) :]
        try:
            request = parse_body(await _read_asgi_body(receive)) if method == "POST" else None
            body = build_payload(item_id, request)
        except BadRequestError:
            status, body = 400, orjson.dumps({"code": 3, "message": "invalid JSON body"})
    else:
        status, body = 404, NOT_FOUND_BODY

    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response_headers(request_id)]
    headers.append((b"content-length", str(len(body)).encode("ascii")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# --------------------------------------------------------------------------- #
# 2. Starlette (Starlette application = middleware stack + Router + Route)
# --------------------------------------------------------------------------- #


async def _starlette_item(request: Request) -> Response:
    request_id = request.headers.get("x-request-id", "-")
    headers = dict(response_headers(request_id)[1:])
    try:
        payload = parse_body(await request.body()) if request.method == "POST" else None
    except BadRequestError:
        body = orjson.dumps({"code": 3, "message": "invalid JSON body"})
        return Response(body, status_code=400, media_type="application/json", headers=headers)
    body = build_payload(request.path_params["item_id"], payload)
    return Response(body, media_type="application/json", headers=headers)


starlette_app = Starlette(
    routes=[Route("/v1/items/{item_id}", _starlette_item, methods=["GET", "POST"])],
)


# --------------------------------------------------------------------------- #
# 3. raw RSGI (granian's native interface; reference only)
# --------------------------------------------------------------------------- #


class RawRSGI:
    """Bare RSGI app; granian calls ``__rsgi__`` for each request."""

    async def __rsgi__(self, scope: RSGIScope, protocol: RSGIHTTPProtocol) -> None:
        request_id: str = scope.headers.get("x-request-id", "-")
        path = scope.path
        method = scope.method
        status = 200
        if (
            path.startswith(PATH_PREFIX)
            and len(path) > len(PATH_PREFIX)
            and method in ("GET", "POST")
        ):
            item_id = path[len(PATH_PREFIX) :]
            try:
                request = parse_body(await protocol()) if method == "POST" else None
                body = build_payload(item_id, request)
            except BadRequestError:
                status, body = 400, orjson.dumps({"code": 3, "message": "invalid JSON body"})
        else:
            status, body = 404, NOT_FOUND_BODY
        protocol.response_bytes(status, response_headers(request_id), body)


raw_rsgi = RawRSGI()
