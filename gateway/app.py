"""The gateway's ASGI application: match a route, transcode, call the service, wrap the answer.

Raw ASGI (see docs/adr/0002-gateway-http-server.md): the routes, their parameters and their
validation come from the protos, so a web framework would only add a second description.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl
from uuid import uuid4

import grpc
import orjson
from google.protobuf.message import Message
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import unpuzzle
from gateway.backends import Backends
from gateway.envelope import ApiError, error_body, error_from_rpc, success_body
from gateway.routes import Route, RouteTable, import_service_modules, routes_for_service
from gateway.sessions import (
    REFRESH_COOKIE,
    Credentials,
    clear_cookies,
    credentials,
    issue_cookies,
    www_authenticate,
)
from gateway.transcoding import (
    TranscodeError,
    fields_by_json_name,
    merge_json,
    parse_scalar,
    renderer_for,
)
from kernel.errors import FieldViolation
from kernel.logs import request_id_var
from kernel.metrics import HTTP_LATENCY, HTTP_REQUESTS
from kernel.settings import SERVICE_NAMES, Settings

_log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_JSON = b"application/json; charset=utf-8"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Request headers forwarded to the services as gRPC metadata.
_FORWARDED_HEADERS = {
    b"user-agent": "user-agent",
    b"if-match": "if-match",
    b"idempotency-key": "idempotency-key",
}


class Request:
    """What the handlers need from an ASGI scope, parsed once."""

    __slots__ = ("client_ip", "credentials", "headers", "method", "path", "query", "request_id")

    def __init__(self, scope: Scope) -> None:
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.query: bytes = scope.get("query_string", b"")
        self.headers: dict[bytes, bytes] = {}
        for key, value in scope["headers"]:
            self.headers[key] = value
        client = scope.get("client")
        self.client_ip: str = client[0] if client else ""
        incoming = self.headers.get(b"x-request-id", b"").decode("latin-1")
        self.request_id = incoming if _REQUEST_ID.match(incoming) else uuid4().hex
        self.credentials: Credentials | None = None


class Response:
    """Status, headers and body bytes (JSON unless `content_type` says otherwise)."""

    __slots__ = ("body", "content_type", "headers", "status")

    def __init__(
        self,
        status: int,
        body: bytes,
        headers: list[tuple[bytes, bytes]] | None = None,
        content_type: bytes = _JSON,
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers or []
        self.content_type = content_type


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(400, "MALFORMED_REQUEST", "The client closed the connection")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "PAYLOAD_TOO_LARGE", f"Request body exceeds {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _set_path_field(
    message: Message, field_path: tuple[str, ...], raw: str, json_name: str
) -> None:
    target = message
    for name in field_path[:-1]:
        target = getattr(target, name)
    field = target.DESCRIPTOR.fields_by_name[field_path[-1]]
    setattr(target, field.name, parse_scalar(field, raw, json_name, from_query=True))


def _apply_query(message: Message, query: bytes, bound: set[str]) -> None:
    """Query parameters fill the request fields not bound by the path or the body."""
    violations: list[FieldViolation] = []
    lookup = fields_by_json_name(message.DESCRIPTOR)
    for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=False):
        field = lookup.get(key)
        if field is None or field.name in bound or field.message_type is not None:
            violations.append(FieldViolation(key, "unknown query parameter"))
            continue
        try:
            parsed = parse_scalar(field, value, key, from_query=True)
            if field.is_repeated:
                getattr(message, field.name).append(parsed)
            else:
                setattr(message, field.name, parsed)
        except TranscodeError as error:
            violations.extend(error.violations)
    if violations:
        raise ApiError.invalid(violations)


def _derive_update_mask(message: Message, data: dict[str, Any]) -> None:
    """PATCH semantics: without an explicit updateMask, the body's keys are the mask."""
    fields = message.DESCRIPTOR.fields_by_name
    mask_field = fields.get("update_mask")
    if mask_field is None or mask_field.message_type is None:
        return
    if mask_field.message_type.full_name != "google.protobuf.FieldMask" or "updateMask" in data:
        return
    lookup = fields_by_json_name(message.DESCRIPTOR)
    paths = sorted(
        lookup[key].name
        for key in data
        if key in lookup and lookup[key].name not in {"update_mask", "version"}
    )
    message.update_mask.paths.extend(paths)  # type: ignore[attr-defined]


def _entity_tag_version(value: bytes) -> int | None:
    """`"3"`, `W/"3"` or `3` -> 3."""
    text = value.decode("latin-1").strip().removeprefix("W/").strip('"')
    return int(text) if text.isdigit() else None


def _apply_preconditions(message: Message, request: Request) -> None:
    """If-Match is the resource version the client saw: it fills an unset `version` field."""
    raw = request.headers.get(b"if-match")
    field = message.DESCRIPTOR.fields_by_name.get("version")
    if raw is None or field is None or field.message_type is not None:
        return
    version = _entity_tag_version(raw)
    if version is None:
        raise ApiError.invalid([FieldViolation("If-Match", 'must be an ETag such as "3"')])
    target: Any = message
    if not target.version:
        target.version = version


def _refresh_token_from_cookie(message: Message, request: Request) -> None:
    """Browser refresh: an empty refresh_token field is taken from the HttpOnly cookie."""
    if "refresh_token" not in message.DESCRIPTOR.fields_by_name:
        return
    target: Any = message
    cookies = request.credentials.cookies if request.credentials else {}
    if not target.refresh_token and cookies.get(REFRESH_COOKIE):
        target.refresh_token = cookies[REFRESH_COOKIE]


def _etag_matches(header: bytes | None, etag: bytes) -> bool:
    if not header:
        return False
    if header.strip() == b"*":
        return True
    candidates = {tag.strip().removeprefix(b"W/") for tag in header.split(b",")}
    return etag in candidates


class GatewayApp:
    """ASGI callable; build with `create_app(settings)`."""

    def __init__(self, settings: Settings, table: RouteTable, backends: Backends) -> None:
        self.settings = settings
        self.table = table
        self.backends = backends
        self.max_body_bytes = 1024 * 1024
        self._special: dict[str, Callable[[Request], Awaitable[Response]]] = {
            "/healthz": self._healthz,
            "/readyz": self._readyz,
            "/metrics": self._metrics,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.backends.open()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.backends.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        token = request_id_var.set(request.request_id)
        started = time.perf_counter()
        route_label = "unmatched"
        try:
            special = self._special.get(request.path)
            if special is not None and request.method in {"GET", "HEAD"}:
                route_label = request.path
                response = await special(request)
            else:
                route, variables, path_known = self.table.match(request.method, request.path)
                if route is None:
                    response = self._not_found(request, path_known)
                else:
                    route_label = route.name
                    response = await self._call(route, variables, request, receive)
        except ApiError as error:
            response = self._error(error, request)
        except Exception:
            _log.exception("unhandled gateway error", extra={"path": request.path})
            response = self._error(ApiError(500, "INTERNAL", "Internal error"), request)
        finally:
            request_id_var.reset(token)
        headers = [
            (b"content-type", response.content_type),
            (b"x-request-id", request.request_id.encode()),
            *response.headers,
        ]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})
        HTTP_REQUESTS.labels(route_label, request.method, str(response.status)).inc()
        HTTP_LATENCY.labels(route_label, request.method).observe(time.perf_counter() - started)

    def _meta(self, request: Request) -> dict[str, Any]:
        return {"requestId": request.request_id}

    def _error(self, error: ApiError, request: Request) -> Response:
        headers = list(error.headers)
        if error.status == 401:
            had_token = request.credentials is not None and request.credentials.authorization
            headers.append((b"www-authenticate", www_authenticate(error.code, bool(had_token))))
        return Response(error.status, error_body(error, self._meta(request)), headers)

    def _not_found(self, request: Request, path_known: bool) -> Response:
        if path_known:
            return self._error(
                ApiError(
                    405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed on {request.path}"
                ),
                request,
            )
        return self._error(
            ApiError(404, "ROUTE_NOT_FOUND", f"No route for {request.method} {request.path}"),
            request,
        )

    async def _build_request(
        self, route: Route, variables: dict[str, str], request: Request, receive: Receive
    ) -> Message:
        message = route.request_class()
        bound: set[str] = set()
        violations: list[FieldViolation] = []
        for variable in route.variables:
            try:
                _set_path_field(
                    message, variable.field_path, variables[variable.group], variable.json_name
                )
            except TranscodeError as error:
                violations.extend(error.violations)
            bound.add(variable.field_path[0])
        if route.body:
            raw = await _read_body(receive, self.max_body_bytes)
            if raw.strip():
                content_type = request.headers.get(b"content-type", b"application/json")
                if not content_type.lower().startswith(b"application/json"):
                    raise ApiError(
                        415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json"
                    )
                try:
                    data = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    raise ApiError(
                        400, "MALFORMED_REQUEST", f"Malformed JSON body: {exc}"
                    ) from None
                if route.body == "*":
                    if not isinstance(data, dict):
                        raise ApiError(400, "MALFORMED_REQUEST", "The JSON body must be an object")
                    merge_json(message, data, violations=violations, skip=bound)
                    bound.update(f.name for f in message.DESCRIPTOR.fields)
                    _derive_update_mask(message, data)
                else:
                    merge_json(message, {route.body: data}, violations=violations)
                    bound.add(route.body)
        if violations:
            raise ApiError.invalid(violations)
        if request.query:
            _apply_query(message, request.query, bound)
        _apply_preconditions(message, request)
        if route.options.session == "issue":
            _refresh_token_from_cookie(message, request)
        return message

    def _metadata(self, request: Request) -> list[tuple[str, str]]:
        metadata = [("x-request-id", request.request_id)]
        if request.credentials is not None and request.credentials.authorization:
            metadata.append(("authorization", request.credentials.authorization))
        for header, key in _FORWARDED_HEADERS.items():
            value = request.headers.get(header)
            if value:
                metadata.append((key, value.decode("latin-1")))
        if request.client_ip:
            metadata.append(("x-client-ip", request.client_ip))
        return metadata

    async def _call(
        self, route: Route, variables: dict[str, str], request: Request, receive: Receive
    ) -> Response:
        request.credentials = credentials(request.method, request.headers)
        message = await self._build_request(route, variables, request, receive)
        rpc = self.backends.unary(
            route.backend,
            route.grpc_path,
            route.request_class.SerializeToString,
            route.response_class.FromString,
        )
        try:
            reply = await rpc(
                message,
                timeout=self.settings.backend_deadline_seconds,
                metadata=self._metadata(request),
            )
        except grpc.aio.AioRpcError as error:
            raise error_from_rpc(error, route.backend) from None
        return self._success(route, reply, request)

    def _response_headers(
        self, route: Route, data: Any, request: Request
    ) -> list[tuple[bytes, bytes]]:
        headers: list[tuple[bytes, bytes]] = []
        if request.credentials is not None and request.credentials.authorization:
            headers.append((b"cache-control", b"no-store"))
        if isinstance(data, dict) and isinstance(data.get("version"), int):
            headers.append((b"etag", f'"{data["version"]}"'.encode()))
        if route.options.session == "issue" and isinstance(data, dict):
            headers += issue_cookies(data, secure=self.settings.cookie_secure)
        elif route.options.session == "clear":
            headers += clear_cookies(secure=self.settings.cookie_secure)
        return headers

    def _success(self, route: Route, reply: Message, request: Request) -> Response:
        meta = self._meta(request)
        if route.data_field is not None:
            field = route.data_field
            value = getattr(reply, field.name)
            render = renderer_for(field.message_type) if field.message_type is not None else None
            if field.is_repeated:
                data: Any = [render(v) for v in value] if render else list(value)
            elif render is not None:
                data = render(value) if reply.HasField(field.name) else None
            else:
                data = value
            if route.pagination_field is not None:
                meta["pagination"] = renderer_for(route.pagination_field.message_type)(
                    getattr(reply, route.pagination_field.name)
                )
            if route.meta_fields:
                rendered = renderer_for(reply.DESCRIPTOR)(reply)
                for extra in route.meta_fields:
                    meta[extra.json_name] = rendered[extra.json_name]
        elif reply.DESCRIPTOR.fields:
            data = renderer_for(reply.DESCRIPTOR)(reply)
        else:
            data = None
        headers = self._response_headers(route, data, request)
        if request.method == "GET" and route.success_status == 200:
            etag = next((value for key, value in headers if key == b"etag"), None)
            if etag is not None and _etag_matches(request.headers.get(b"if-none-match"), etag):
                return Response(304, b"", headers)
        return Response(route.success_status, success_body(data, meta), headers)

    async def _healthz(self, request: Request) -> Response:
        return Response(200, success_body({"status": "alive"}, self._meta(request)))

    async def _readyz(self, request: Request) -> Response:
        backends = await self.backends.health()
        if all(backends.values()):
            return Response(
                200, success_body({"status": "ready", "backends": backends}, self._meta(request))
            )
        down = ", ".join(name for name, ok in backends.items() if not ok)
        error = ApiError(
            503,
            "SERVICE_UNAVAILABLE",
            f"Not ready: {down} not serving",
            [{"backend": name, "serving": ok} for name, ok in backends.items()],
        )
        return self._error(error, request)

    async def _metrics(self, request: Request) -> Response:
        return Response(200, generate_latest(), content_type=CONTENT_TYPE_LATEST.encode())


def create_app(settings: Settings) -> GatewayApp:
    """Build the gateway from every service descriptor found in the generated package."""
    routes = [
        route
        for service in import_service_modules(unpuzzle)
        for route in routes_for_service(service)
    ]
    backends = Backends(settings, [name for name in SERVICE_NAMES])
    return GatewayApp(settings, RouteTable(routes), backends)
