"""The gateway's ASGI application: match a route, transcode, call the service, wrap the answer.

Raw ASGI (see docs/adr/0002-gateway-http-server.md): the routes, their parameters and their
validation come from the protos, so a web framework would only add a second description.

Per request: CORS preflight, route match, caller identification (verified token -> user, else
client IP), rate limit, body (size, time, depth limits), idempotency claim, request message,
gRPC call with a deadline, envelope, ETag/304, cookies, then the edge headers on every answer.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import orjson
from google.protobuf.message import Message
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import unpuzzle
from gateway.backends import Backends
from gateway.config import DEPRECATED_BINDINGS, Deprecation, EdgeSettings, load_edge_settings
from gateway.docs import DocsAssets
from gateway.edge import (
    allowed_origin,
    cors_headers,
    maybe_gzip,
    preflight_headers,
    route_deprecation,
    security_headers,
)
from gateway.envelope import ApiError, error_body, error_from_rpc, success_body
from gateway.exports import EXPORT_GRPC_PATH, EXPORT_PATH
from gateway.http import Receive, Request, Response, Scope, Send, json_depth, read_body
from gateway.idempotency import (
    IdempotencyStore,
    MemoryIdempotencyStore,
    RedisIdempotencyStore,
    StoredAnswer,
    fingerprint,
)
from gateway.openapi import build_openapi
from gateway.ratelimit import RATE_LIMITED, Decision, Limiter, MemoryLimiter, RedisLimiter
from gateway.requests import build_message, etag_matches
from gateway.routes import Route, RouteTable, import_service_modules, routes_for_service
from gateway.sessions import clear_cookies, credentials, issue_cookies, www_authenticate
from gateway.transcoding import renderer_for
from kernel.auth import TokenVerifier, load_public_keys
from kernel.errors import Unauthenticated
from kernel.logs import request_id_var
from kernel.metrics import HTTP_LATENCY, HTTP_REQUESTS
from kernel.redis_client import connect_redis
from kernel.settings import SERVICE_NAMES, Settings
from unpuzzle.analytics.v1 import analytics_service_pb2

_log = logging.getLogger(__name__)

# Request headers forwarded to the services as gRPC metadata.
_FORWARDED_HEADERS = {
    # gRPC sends its own user-agent; the browser's travels as x-user-agent (session records).
    b"user-agent": "x-user-agent",
    b"if-match": "if-match",
    b"idempotency-key": "idempotency-key",
}
_MAX_IDEMPOTENCY_KEY = 255
# gRPC metadata values are printable ASCII; grpc.aio hangs (no error, no deadline) on others.
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]")


def route_class(route: Route) -> str:
    """Rate-limit class: the RPC's option, else auth routes, reads and writes."""
    if route.options.rate_limit_class:
        return route.options.rate_limit_class
    if route.template.startswith("/api/v1/auth/"):
        return "auth"
    return "read" if route.http_method == "GET" else "write"


class GatewayApp:
    """ASGI callable; build with `create_app(settings)`."""

    def __init__(
        self,
        settings: Settings,
        table: RouteTable,
        backends: Backends,
        *,
        edge: EdgeSettings | None = None,
        redis: Any | None = None,
        verifier: TokenVerifier | None = None,
    ) -> None:
        self.settings = settings
        self.table = table
        self.backends = backends
        self.edge = edge or load_edge_settings()
        self._redis = redis
        self._verifier = verifier
        self.limiter: Limiter = RedisLimiter(redis) if redis is not None else MemoryLimiter()
        self.idempotency: IdempotencyStore = (
            RedisIdempotencyStore(redis, self.edge.idempotency_ttl_seconds)
            if redis is not None
            else MemoryIdempotencyStore(self.edge.idempotency_ttl_seconds)
        )
        self._security_headers = security_headers(self.edge)
        self._public_cache_control = (
            b"cache-control",
            f"public, max-age={self.edge.public_max_age_seconds}".encode(),
        )
        self._deprecations: dict[tuple[str, str], Deprecation] = DEPRECATED_BINDINGS
        self._openapi: bytes | None = None
        self.docs = DocsAssets()
        self._special: dict[str, Callable[[Request], Awaitable[Response]]] = {
            "/healthz": self._healthz,
            "/readyz": self._readyz,
            "/metrics": self._metrics,
            "/api/v1/openapi.json": self._openapi_document,
            "/docs": self._docs_page,
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
                if self._redis is not None:
                    await self._redis.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ------------------------------------------------------------------------------------ HTTP

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        token = request_id_var.set(request.request_id)
        started = time.perf_counter()
        route_label = "unmatched"
        origin = allowed_origin(request, self.edge)
        extra_headers: list[tuple[bytes, bytes]] = []
        try:
            if request.method == "OPTIONS":
                response = self._preflight(request, origin)
            elif (
                special := self._special.get(request.path)
            ) is not None and request.method == "GET":
                route_label = request.path
                response = await special(request)
            elif request.path.startswith(DocsAssets.PREFIX) and request.method == "GET":
                route_label = "docs-assets"
                response = self.docs.asset(request.path)
            elif request.method == "GET" and (export := EXPORT_PATH.match(request.path)):
                route_label = "ExportCourseAnalytics"
                response = await self._export(export.group("course_id"), request, extra_headers)
            else:
                route, variables, path_known = self.table.match(request.method, request.path)
                if route is None:
                    response = self._not_found(request, path_known)
                else:
                    route_label = route.name
                    response = await self._route(route, variables, request, receive, extra_headers)
        except ApiError as error:
            response = self._error(error, request)
        except Exception:
            _log.exception("unhandled gateway error", extra={"path": request.path})
            response = self._error(ApiError(500, "INTERNAL", "Internal error"), request)
        finally:
            request_id_var.reset(token)
        maybe_gzip(response, request, self.edge.gzip_min_bytes)
        headers = [
            (b"content-type", response.content_type),
            (b"content-length", str(len(response.body)).encode()),
            (b"x-request-id", request.request_id.encode()),
            *self._security_headers,
            *extra_headers,
            *response.headers,
        ]
        if origin is not None:
            headers += cors_headers(origin)
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})
        HTTP_REQUESTS.labels(route_label, request.method, str(response.status)).inc()
        HTTP_LATENCY.labels(route_label, request.method).observe(time.perf_counter() - started)

    def _preflight(self, request: Request, origin: bytes | None) -> Response:
        if request.headers.get(b"origin") is None:
            return Response(204, b"", [(b"allow", b"GET, POST, PUT, PATCH, DELETE, OPTIONS")])
        if origin is None:
            raise ApiError(403, "CORS_ORIGIN_NOT_ALLOWED", "This origin may not call the API")
        return Response(204, b"", preflight_headers())

    def _identify(self, request: Request, *, public: bool = False) -> None:
        """Credentials, and who the request counts against for limits and idempotency."""
        request.credentials = credentials(request.method, request.headers, public=public)
        if self._verifier is None or not request.authenticated:
            return
        token = (request.credentials.authorization or "").partition(" ")[2]
        try:
            claims = self._verifier.verify(token.strip())
        except Unauthenticated:
            return  # the service refuses it with the precise reason; limits stay per IP
        request.user_id = str(claims.user_id)
        request.caller_key = f"user:{claims.user_id}"

    async def _route(
        self,
        route: Route,
        variables: dict[str, str],
        request: Request,
        receive: Receive,
        headers: list[tuple[bytes, bytes]],
    ) -> Response:
        """Limits, body, idempotency and the call; `headers` collects what every answer carries."""
        self._identify(request, public=route.options.public)
        await self._enforce_limit(route_class(route), request, headers)
        deprecation = route_deprecation(route, self._deprecations)
        if deprecation is not None:
            headers += deprecation.headers()
        raw = b""
        body: Any = None
        if route.body:
            raw = await read_body(
                receive, limit=self.edge.max_body_bytes, timeout=self.edge.body_timeout_seconds
            )
            body = self._parse_json(raw, request)
        key = request.headers.get(b"idempotency-key")
        if key is None or request.method != "POST":
            return await self._call(route, variables, request, body)
        return await self._idempotent(route, variables, request, body, raw=raw, key=key)

    async def _enforce_limit(
        self, kind: str, request: Request, headers: list[tuple[bytes, bytes]]
    ) -> None:
        """Count the request against its caller and class; 429 when over the limit."""
        if not self.edge.rate_limit_enabled:
            return
        rate = self.edge.rate_limits.get(kind) or self.edge.rate_limits["read"]
        decision: Decision = await self.limiter.hit(f"{kind}:{request.caller_key}", rate)
        headers += decision.headers()
        if not decision.allowed:
            RATE_LIMITED.labels(kind).inc()
            raise ApiError(
                429,
                "RATE_LIMITED",
                f"Too many requests; retry in {max(1, round(decision.retry_after_seconds))} s",
            )

    async def _export(
        self, course_id: str, request: Request, headers: list[tuple[bytes, bytes]]
    ) -> Response:
        """The CSV download (see gateway/exports.py)."""
        self._identify(request)
        await self._enforce_limit("read", request, headers)
        rpc = self.backends.unary(
            "analytics",
            EXPORT_GRPC_PATH,
            analytics_service_pb2.ExportCourseAnalyticsRequest.SerializeToString,
            analytics_service_pb2.ExportCourseAnalyticsResponse.FromString,
        )
        try:
            reply = await rpc(
                analytics_service_pb2.ExportCourseAnalyticsRequest(course_id=course_id),
                timeout=self.settings.backend_deadline_seconds,
                metadata=self._metadata(request),
            )
        except grpc.aio.AioRpcError as error:
            raise error_from_rpc(error, "analytics") from None
        disposition = f'attachment; filename="{reply.filename}"'.encode()
        return Response(
            200,
            reply.content.encode(),
            [(b"content-disposition", disposition), (b"cache-control", b"no-store")],
            content_type=reply.content_type.encode() or b"text/csv; charset=utf-8",
        )

    def _parse_json(self, raw: bytes, request: Request) -> Any:
        if not raw.strip():
            return None
        content_type = request.headers.get(b"content-type", b"application/json")
        if not content_type.lower().startswith(b"application/json"):
            raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json")
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "MALFORMED_REQUEST", f"Malformed JSON body: {exc}") from None
        if json_depth(data, self.edge.max_json_depth):
            raise ApiError(
                400,
                "MALFORMED_REQUEST",
                f"The JSON body nests deeper than {self.edge.max_json_depth} levels",
            )
        return data

    async def _idempotent(
        self,
        route: Route,
        variables: dict[str, str],
        request: Request,
        body: Any,
        *,
        raw: bytes,
        key: bytes,
    ) -> Response:
        if not 0 < len(key) <= _MAX_IDEMPOTENCY_KEY:
            raise ApiError(400, "VALIDATION_FAILED", "Idempotency-Key must be 1 to 255 characters")
        scoped = f"{request.caller_key}:{key.decode('latin-1')}"
        print_ = fingerprint(request.method, request.path, raw)
        claim = await self.idempotency.claim(scoped, print_)
        if claim.replay is not None:
            answer = claim.replay
            return Response(
                answer.status, answer.body, [*answer.headers, (b"idempotent-replayed", b"true")]
            )
        if claim.conflict == "different_request":
            raise ApiError(
                409, "IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used for another request"
            )
        if claim.conflict == "in_progress":
            raise ApiError(
                409,
                "IDEMPOTENCY_KEY_REUSED",
                "A request with this Idempotency-Key is still in progress",
            )
        try:
            response = await self._call(route, variables, request, body)
        except ApiError as error:
            if error.status >= 500 or error.status == 429:
                await self.idempotency.release(scoped)
            else:
                failed = self._error(error, request)
                await self.idempotency.complete(
                    scoped, print_, StoredAnswer(failed.status, failed.body, [])
                )
            raise
        kept = [(k, v) for k, v in response.headers if k in {b"etag", b"location"}]
        await self.idempotency.complete(
            scoped, print_, StoredAnswer(response.status, response.body, kept)
        )
        return response

    def _metadata(self, request: Request) -> list[tuple[str, str]]:
        metadata = [("x-request-id", request.request_id)]
        if request.credentials is not None and request.credentials.authorization:
            metadata.append(
                (
                    "authorization",
                    _metadata_value("Authorization", request.credentials.authorization),
                )
            )
        for header, key in _FORWARDED_HEADERS.items():
            value = request.headers.get(header)
            if value:
                text = value.decode("latin-1")
                if header == b"user-agent":  # informational: keep what can travel
                    text = _NOT_PRINTABLE.sub("?", text)
                metadata.append((key, _metadata_value(header.decode(), text)))
        if request.client_ip:
            metadata.append(("x-client-ip", request.client_ip))
        return metadata

    async def _call(
        self, route: Route, variables: dict[str, str], request: Request, body: Any
    ) -> Response:
        message = build_message(route, variables, request, body)
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

    def _success(self, route: Route, reply: Message, request: Request) -> Response:
        meta: dict[str, Any] = {"requestId": request.request_id}
        data = _render_data(route, reply, meta)
        headers: list[tuple[bytes, bytes]] = []
        if route.options.bare:
            headers.append(self._public_cache_control)
            return Response(route.success_status, orjson.dumps(data), headers)
        if request.authenticated:
            headers.append((b"cache-control", b"no-store"))
        elif route.options.public and route.http_method == "GET":
            headers.append(self._public_cache_control)
        etag = None
        if isinstance(data, dict) and isinstance(data.get("version"), int):
            etag = f'"{data["version"]}"'.encode()
            headers.append((b"etag", etag))
        if route.options.session == "issue" and isinstance(data, dict):
            headers += issue_cookies(data, secure=self.settings.cookie_secure)
        elif route.options.session == "clear":
            headers += clear_cookies(secure=self.settings.cookie_secure)
        if (
            etag is not None
            and request.method == "GET"
            and etag_matches(request.headers.get(b"if-none-match"), etag)
        ):
            return Response(304, b"", headers)
        return Response(route.success_status, success_body(data, meta), headers)

    # ------------------------------------------------------------------------------ answers

    def _error(self, error: ApiError, request: Request) -> Response:
        headers = list(error.headers)
        if error.status == 401:
            headers.append(
                (b"www-authenticate", www_authenticate(error.code, request.authenticated))
            )
        return Response(error.status, error_body(error, {"requestId": request.request_id}), headers)

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

    async def _healthz(self, request: Request) -> Response:
        return Response(200, success_body({"status": "alive"}, {"requestId": request.request_id}))

    async def _readyz(self, request: Request) -> Response:
        backends = await self.backends.health()
        meta = {"requestId": request.request_id}
        if all(backends.values()):
            return Response(200, success_body({"status": "ready", "backends": backends}, meta))
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

    async def _openapi_document(self, request: Request) -> Response:
        if self._openapi is None:
            self._openapi = orjson.dumps(build_openapi(self.table.routes, self._deprecations))
        return Response(200, self._openapi, [(b"cache-control", b"public, max-age=60")])

    async def _docs_page(self, request: Request) -> Response:
        return self.docs.page()


def _metadata_value(header: str, value: str) -> str:
    """`value` if it can travel as gRPC metadata, else a 400 naming the header."""
    if _NOT_PRINTABLE.search(value):
        raise ApiError(
            400,
            "MALFORMED_REQUEST",
            f"The {header} header must contain printable ASCII characters only",
            [{"field": header, "description": "must be printable ASCII"}],
        )
    return value


def _render_data(route: Route, reply: Message, meta: dict[str, Any]) -> Any:
    """The envelope's `data` per the rule's response_body; pagination and extras go to `meta`."""
    if route.data_field is None:
        return renderer_for(reply.DESCRIPTOR)(reply) if reply.DESCRIPTOR.fields else None
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
    return data


def create_app(settings: Settings, *, edge: EdgeSettings | None = None) -> GatewayApp:
    """Build the gateway from every service descriptor found in the generated package."""
    routes = [
        route
        for service in import_service_modules(unpuzzle)
        for route in routes_for_service(service)
    ]
    redis = None
    if settings.redis_url:
        redis = connect_redis(settings.redis_url, timeout_seconds=0.5)
    verifier = None
    keys_file = Path(settings.public_keys_file)
    if keys_file.exists():
        verifier = TokenVerifier(
            load_public_keys(keys_file), issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
    reads = sorted({(r.service.full_name, r.method.name) for r in routes if r.http_method == "GET"})
    backends = Backends(settings, list(SERVICE_NAMES), reads)
    return GatewayApp(
        settings, RouteTable(routes), backends, edge=edge, redis=redis, verifier=verifier
    )
