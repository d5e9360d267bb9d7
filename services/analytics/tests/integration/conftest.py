"""The analytics service in-process on a real database, NATS and gateway.

NATS is the session's own server (`isolated_nats_url` in the root conftest): durable consumer
names are per NATS server, so two test sessions sharing one would take each other's events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from gateway.app import create_app
from kernel.settings import Settings
from services.analytics.bootstrap import AnalyticsService, bootstrap
from services.analytics.tests.integration.events import EventFeed
from tests.support import channel_to, open_gateway_client
from unpuzzle.analytics.v1 import analytics_service_pb2_grpc


@pytest.fixture
async def analytics(settings: Settings) -> AsyncIterator[AnalyticsService]:
    """Started analytics service (gRPC on a free port, consumers and relay on NATS)."""
    service = bootstrap(settings)
    await service.runtime.start()
    await service.infra.nats.wait_ready(10)
    assert await service.runtime.refresh_readiness()
    yield service
    await service.runtime.stop()


@pytest.fixture
async def stub(
    analytics: AnalyticsService,
) -> AsyncIterator[analytics_service_pb2_grpc.AnalyticsServiceStub]:
    """A gRPC client of the analytics service."""
    async with channel_to(analytics.runtime.bound_port) as channel:
        yield analytics_service_pb2_grpc.AnalyticsServiceStub(channel)


@pytest.fixture
async def api(settings: Settings, analytics: AnalyticsService) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a gateway whose analytics backend is `analytics`."""
    app = create_app(
        replace(
            settings,
            service_addresses={"analytics": f"127.0.0.1:{analytics.runtime.bound_port}"},
            backend_deadline_seconds=5.0,
        )
    )
    client = await open_gateway_client(app)
    yield client
    await client.aclose()
    await app.backends.close()


@pytest.fixture
async def feed(analytics: AnalyticsService) -> EventFeed:
    """Publishes course and user events the way their services do."""
    feed = EventFeed(analytics.infra.nats)
    await feed.ensure_streams()
    return feed
