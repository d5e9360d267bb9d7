"""The user service running in-process on a real database and NATS, behind a real gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import grpc
import httpx
import pytest

from gateway.app import create_app
from kernel.settings import Settings
from services.user.adapters.passwords import Argon2Parameters
from services.user.bootstrap import UserService, bootstrap
from tests.support import channel_to, open_gateway_client

# Explicitly cheap hashing for the functional tests; the production default (OWASP) is
# exercised by tests/e2e and by the event-loop test, which pass no parameters.
FAST_ARGON2 = Argon2Parameters(memory_kib=1024, time_cost=1, parallelism=1)


@pytest.fixture
async def user_service(settings: Settings) -> AsyncIterator[UserService]:
    """Started user service (gRPC on a free port, relay connected, super admin seeded)."""
    service = bootstrap(settings, argon2=FAST_ARGON2)
    await service.runtime.start()
    await service.infra.nats.wait_ready(10)
    assert await service.runtime.refresh_readiness()
    yield service
    await service.runtime.stop()


@pytest.fixture
async def channel(user_service: UserService) -> AsyncIterator[grpc.aio.Channel]:
    """A gRPC channel to the user service."""
    async with channel_to(user_service.runtime.bound_port) as opened:
        yield opened


@pytest.fixture
async def api(settings: Settings, user_service: UserService) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a gateway whose user backend is `user_service`."""
    app = create_app(
        replace(
            settings,
            service_addresses={"user": f"127.0.0.1:{user_service.runtime.bound_port}"},
            backend_deadline_seconds=5.0,
        )
    )
    client = await open_gateway_client(app)
    yield client
    await client.aclose()
    await app.backends.close()
