"""gRPC channels from the gateway to the services, and their health for /readyz."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors

from kernel.grpc_options import CLIENT_OPTIONS
from kernel.settings import Settings


def retry_service_config(idempotent_methods: list[tuple[str, str]]) -> str:
    """gRPC service config retrying idempotent reads on UNAVAILABLE (a replica went away).

    Writes are not retried here: gRPC already retries transparently what never reached a
    server, and a write that may have run must come back to the client as an error.
    """
    if not idempotent_methods:
        return json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})
    return json.dumps(
        {
            "loadBalancingConfig": [{"round_robin": {}}],
            "methodConfig": [
                {
                    "name": [
                        {"service": service, "method": method}
                        for service, method in idempotent_methods
                    ],
                    "retryPolicy": {
                        "maxAttempts": 4,
                        "initialBackoff": "0.02s",
                        "maxBackoff": "0.3s",
                        "backoffMultiplier": 2,
                        "retryableStatusCodes": ["UNAVAILABLE"],
                    },
                }
            ],
        }
    )


class Backends:
    """One channel per service (round-robin over every address its target resolves to)."""

    def __init__(
        self,
        settings: Settings,
        names: list[str],
        idempotent_methods: list[tuple[str, str]] | None = None,
    ) -> None:
        self._settings = settings
        self.names = names
        self._service_config = retry_service_config(idempotent_methods or [])
        self.channels: dict[str, grpc.aio.Channel] = {}
        self._callables: dict[str, Any] = {}
        self._health_cache: tuple[float, dict[str, bool]] | None = None

    async def open(self) -> None:
        """Create the channels (inside the running event loop)."""
        for name in self.names:
            self.channels[name] = grpc.aio.insecure_channel(
                self._settings.grpc_target(name),
                options=[
                    *CLIENT_OPTIONS,
                    ("grpc.enable_retries", 1),
                    ("grpc.service_config", self._service_config),
                ],
                interceptors=aio_client_interceptors(),  # type: ignore[no-untyped-call]
            )

    async def close(self) -> None:
        """Close every channel."""
        for channel in self.channels.values():
            await channel.close(grace=1.0)
        self.channels.clear()
        self._callables.clear()

    def unary(
        self,
        backend: str,
        grpc_path: str,
        serializer: Callable[[Any], bytes],
        deserializer: Callable[[bytes], Any],
    ) -> Any:
        """The (cached) unary-unary callable for one RPC."""
        key = f"{backend}{grpc_path}"
        callable_ = self._callables.get(key)
        if callable_ is None:
            callable_ = self.channels[backend].unary_unary(
                grpc_path, request_serializer=serializer, response_deserializer=deserializer
            )
            self._callables[key] = callable_
        return callable_

    async def health(self, max_age: float = 1.0) -> dict[str, bool]:
        """SERVING status per backend, cached for `max_age` seconds."""
        now = time.monotonic()
        if self._health_cache is not None and now - self._health_cache[0] < max_age:
            return self._health_cache[1]
        results = await asyncio.gather(*(self._check(name) for name in self.names))
        status = dict(zip(self.names, results, strict=True))
        self._health_cache = (now, status)
        return status

    async def _check(self, name: str) -> bool:
        stub = health_pb2_grpc.HealthStub(self.channels[name])
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
        except grpc.aio.AioRpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
