"""Helpers shared by integration and end-to-end tests."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import httpx

from kernel.grpc_options import CLIENT_OPTIONS


async def eventually(
    probe: Callable[[], Awaitable[Any] | Any], *, timeout: float = 5.0, interval: float = 0.05
) -> Any:
    """Call `probe` (sync or async) until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s (last value: {last!r})")


def channel_to(port: int) -> grpc.aio.Channel:
    """An insecure channel to a service on loopback."""
    return grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=CLIENT_OPTIONS)


async def open_gateway_client(app: Any) -> httpx.AsyncClient:
    """An HTTP client calling the gateway's ASGI app directly (after its start-up)."""
    await app.backends.open()
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test")
