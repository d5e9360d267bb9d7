"""gRPC server bootstrap shared by every service.

Builds a `grpc.aio` server with OpenTelemetry and Unpuzzle interceptors, the standard health
service (reflecting real readiness), server reflection, and a SIGTERM sequence: report
NOT_SERVING, keep answering while load balancers notice, stop taking calls, drain, exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, cast
from uuid import uuid4

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status
from opentelemetry.instrumentation.grpc import aio_server_interceptor

from kernel.errors import ERROR_DOMAIN, DomainError
from kernel.grpc_options import SERVER_OPTIONS
from kernel.logs import request_id_var
from kernel.metrics import GRPC_LATENCY, GRPC_REQUESTS
from kernel.security import Authenticator, reset_caller, set_caller
from kernel.validation import validate

_log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[bool]]
LIVENESS = "liveness"
# The servicer context of a grpc.aio handler (grpc-stubs types it as a generic).
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
_Behavior = Callable[[Any, Context], Awaitable[Any]]


def domain_error_status(error: DomainError) -> grpc.Status:
    """`google.rpc.Status` for a domain error: ErrorInfo reason plus BadRequest violations."""
    info = any_pb2.Any()
    info.Pack(
        error_details_pb2.ErrorInfo(
            reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata
        )
    )
    details = [info]
    if error.violations:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in error.violations
            ]
        )
        packed = any_pb2.Any()
        packed.Pack(bad_request)
        details.append(packed)
    status = status_pb2.Status(code=error.code.value[0], message=error.message, details=details)
    return rpc_status.to_status(status)


def _internal_status() -> grpc.Status:
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason="INTERNAL", domain=ERROR_DOMAIN))
    status = status_pb2.Status(
        code=code_pb2.INTERNAL, message="Internal error; it has been logged", details=[info]
    )
    return rpc_status.to_status(status)


class UnpuzzleServerInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Request id, security context, domain-error mapping, logging and metrics for unary RPCs."""

    def __init__(self, service: str, authenticator: Authenticator) -> None:
        self._service = service
        self._authenticator = authenticator
        self._wrapped: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        """Wrap unary-unary handlers of our own services; pass everything else through."""
        method: str = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None:
            return cached
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None or method.startswith("/grpc."):
            return handler
        wrapped = grpc.unary_unary_rpc_method_handler(
            self._wrap(method.rsplit("/", 1)[-1], cast(Any, handler.unary_unary)),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        self._wrapped[method] = wrapped
        return wrapped

    def _wrap(self, method: str, behavior: _Behavior) -> _Behavior:
        latency = GRPC_LATENCY.labels(self._service, method)

        async def handle(request: Any, context: Context) -> Any:
            metadata: dict[str, str] = {}
            for key, value in context.invocation_metadata() or ():
                if isinstance(value, str):
                    metadata[key] = value
            request_token = request_id_var.set(metadata.get("x-request-id") or uuid4().hex)
            started = time.perf_counter()
            code = "OK"
            failure: grpc.Status | None = None
            try:
                caller_token = set_caller(await self._authenticator.authenticate(metadata))
                try:
                    validate(request)
                    return await behavior(request, context)
                finally:
                    reset_caller(caller_token)
            except DomainError as error:
                code = error.code.name
                failure = domain_error_status(error)
                if error.code in {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL}:
                    _log.warning("rpc failed: %s", error.message, extra={"rpc": method})
            except (asyncio.CancelledError, grpc.aio.AbortError):
                code = "CANCELLED"
                raise
            except Exception:
                code = "INTERNAL"
                _log.exception("unhandled error in rpc", extra={"rpc": method})
                failure = _internal_status()
            finally:
                elapsed = time.perf_counter() - started
                latency.observe(elapsed)
                GRPC_REQUESTS.labels(self._service, method, code).inc()
                if _log.isEnabledFor(logging.DEBUG) or code not in {"OK", "NOT_FOUND"}:
                    _log.info(
                        "rpc",
                        extra={"rpc": method, "code": code, "ms": round(elapsed * 1000, 2)},
                    )
                request_id_var.reset(request_token)
            assert failure is not None  # the try block returned otherwise
            # grpc-stubs lacks abort_with_status on the aio context.
            await cast(Any, context).abort_with_status(failure)
            return None  # unreachable: abort_with_status raises

        return handle


@dataclass
class ServiceRuntime:
    """Everything one service process runs, wired by the service's bootstrap."""

    name: str
    port: int
    host: str
    authenticator: Authenticator
    servicers: Sequence[tuple[Callable[[Any, grpc.aio.Server], None], Any]]
    service_full_names: Sequence[str]
    readiness_checks: Mapping[str, ReadinessCheck] = field(default_factory=dict)
    background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = ()
    on_stop: Sequence[Callable[[], Awaitable[None] | None]] = ()
    drain_seconds: float = 1.0
    grace_seconds: float = 3.0
    readiness_interval: float = 1.0

    def __post_init__(self) -> None:
        self.server: grpc.aio.Server | None = None
        self.health = health.aio.HealthServicer()  # type: ignore[attr-defined]
        self.bound_port = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._ready = False

    async def start(self) -> int:
        """Bind and start serving; returns the bound port (useful with port 0 in tests)."""
        server = grpc.aio.server(
            interceptors=[
                aio_server_interceptor(),  # type: ignore[no-untyped-call]
                UnpuzzleServerInterceptor(self.name, self.authenticator),
            ],
            options=SERVER_OPTIONS,
        )
        for add_to_server, servicer in self.servicers:
            add_to_server(servicer, server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection(
            [*self.service_full_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
        )
        self.bound_port = server.add_insecure_port(f"{self.host}:{self.port}")
        await self._set_serving(False)
        # Liveness is the process itself: dependencies going away must not restart the pod.
        await self.health.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
        await server.start()
        self.server = server
        self._tasks.append(asyncio.create_task(self._watch_readiness(), name="readiness"))
        for job in self.background:
            self._tasks.append(asyncio.create_task(job(), name=getattr(job, "__name__", "job")))
        _log.info("gRPC server listening", extra={"address": f"{self.host}:{self.bound_port}"})
        return self.bound_port

    async def _set_serving(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *self.service_full_names):
            await self.health.set(name, status)

    async def check_ready(self) -> dict[str, bool]:
        """Run every readiness check once."""
        results = {}
        for name, check in self.readiness_checks.items():
            try:
                results[name] = await asyncio.wait_for(check(), timeout=2.0)
            except Exception:
                results[name] = False
        return results

    @property
    def ready(self) -> bool:
        """True while the health service reports SERVING."""
        return self._ready

    async def refresh_readiness(self) -> bool:
        """Run the checks now and publish the result on the health service."""
        results = await self.check_ready()
        ready = all(results.values()) and not self._stopping.is_set()
        if ready != self._ready:
            _log.info("readiness changed", extra={"ready": ready, "checks": results})
            self._ready = ready
            await self._set_serving(ready)
        return ready

    async def _watch_readiness(self) -> None:
        while not self._stopping.is_set():
            await self.refresh_readiness()
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the task's cancellation.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.readiness_interval):
                    await self._stopping.wait()

    async def stop(self) -> None:
        """NOT_SERVING, a short drain while still answering, stop with grace, then clean up."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        await self.health.enter_graceful_shutdown()
        _log.info("shutting down: NOT_SERVING, draining")
        await asyncio.sleep(self.drain_seconds)
        if self.server is not None:
            await self.server.stop(self.grace_seconds)
        for task in self._tasks:
            await _cancel_and_wait(task)
        for hook in self.on_stop:
            result = hook()
            if result is not None:
                with contextlib.suppress(Exception):
                    await result
        _log.info("stopped")

    async def serve_until_signalled(self) -> None:
        """Start, then run until SIGTERM or SIGINT, then stop gracefully."""
        loop = asyncio.get_running_loop()
        stop_requested = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop_requested.set)
        await self.start()
        await stop_requested.wait()
        await self.stop()


async def _cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel until the task is done.

    On Python 3.11, `asyncio.wait_for` (used inside nats-py and others) can swallow a
    cancellation that arrives just as its inner call completes; a loop around it then runs on.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    if not task.cancelled():
        with contextlib.suppress(Exception):
            task.result()
