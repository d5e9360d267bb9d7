"""The gateway in-process (ASGI), in front of in-process services."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.app import GatewayApp, create_app
from kernel.settings import Settings


async def open_client(app: GatewayApp) -> httpx.AsyncClient:
    """An HTTP client that calls the ASGI app directly (after its start-up)."""
    await app.backends.open()
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test")


@pytest.fixture
async def gateway(gateway_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a gateway whose backends are the in-process services."""
    app = create_app(gateway_settings)
    client = await open_client(app)
    yield client
    await client.aclose()
    await app.backends.close()
