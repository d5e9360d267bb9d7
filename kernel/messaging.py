"""NATS connection management and the JetStream streams every producing service owns."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import nats
from nats.aio.client import Client as NatsConnection
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

_log = logging.getLogger(__name__)

DUPLICATE_WINDOW_SECONDS = 120.0


def stream_name(service: str) -> str:
    """JetStream stream holding a service's events, e.g. `UNPUZZLE_COURSE`."""
    return f"UNPUZZLE_{service.upper()}"


def stream_config(service: str, replicas: int = 1) -> StreamConfig:
    """File-backed stream for `unpuzzle.<service>.>` with a 2-minute de-duplication window.

    `replicas` is settings.nats_stream_replicas: 3 on a clustered NATS in production.
    """
    return StreamConfig(
        name=stream_name(service),
        subjects=[f"unpuzzle.{service}.>"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        max_age=14 * 24 * 3600.0,
        num_replicas=replicas,
    )


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the stream, or update it in place when it exists with another configuration."""
    try:
        info = await js.stream_info(config.name or "")
    except NotFoundError:
        await js.add_stream(config)
        _log.info("created stream", extra={"stream": config.name})
        return
    current = info.config
    if (
        sorted(current.subjects or []) != sorted(config.subjects or [])
        or current.duplicate_window != config.duplicate_window
        or current.max_age != config.max_age
        or (current.num_replicas or 1) != (config.num_replicas or 1)
    ):
        try:
            await js.update_stream(config)
            _log.info("updated stream", extra={"stream": config.name})
        except BadRequestError:
            _log.exception("stream exists with an incompatible configuration")
            raise


class NatsClient:
    """One NATS connection per process, connecting in the background until it succeeds.

    nats-py does not retry the first connection, so start-up retries here; afterwards the
    client reconnects by itself. `connected` tells the readiness probe whether NATS is usable.
    """

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self.connection: NatsConnection | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._streams: list[StreamConfig] = []
        self._reconnect_hooks: list[Callable[[], None]] = []

    @property
    def connected(self) -> bool:
        """True while the connection is up (not while reconnecting or closed)."""
        return self.connection is not None and self.connection.is_connected

    @property
    def js(self) -> JetStreamContext:
        """The JetStream context of the open connection."""
        if self.connection is None:
            raise RuntimeError("NATS is not connected yet")
        return self.connection.jetstream(timeout=5.0)

    def on_reconnect(self, hook: Callable[[], None]) -> None:
        """Call `hook` after every reconnection (consumers re-create their subscriptions)."""
        self._reconnect_hooks.append(hook)

    def start(self, streams: list[StreamConfig]) -> None:
        """Begin connecting in the background; `wait_ready()` waits for it."""
        self._streams = streams
        self._task = asyncio.create_task(
            self._connect_until_done(), name=f"nats-connect-{self.name}"
        )

    async def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until connected and the streams exist."""
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def _connect_until_done(self) -> None:
        delay = 0.2
        while True:
            try:
                self.connection = await nats.connect(
                    servers=[self.url],
                    name=self.name,
                    connect_timeout=2,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    ping_interval=5,
                    max_outstanding_pings=2,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                )
                for config in self._streams:
                    await ensure_stream(self.js, config)
            except Exception:
                _log.warning("NATS not reachable yet, retrying", extra={"url": self.url})
                if self.connection is not None:
                    with contextlib.suppress(Exception):
                        await self.connection.close()
                    self.connection = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self._ready.set()
            _log.info("connected to NATS", extra={"url": self.url})
            return

    async def _on_error(self, exc: Exception) -> None:
        _log.warning("NATS error: %s", exc)

    async def _on_disconnected(self) -> None:
        _log.warning("NATS disconnected")

    async def _on_reconnected(self) -> None:
        _log.info("NATS reconnected")
        for hook in self._reconnect_hooks:
            hook()
        # A restarted server may have lost an in-memory configuration; make sure streams exist.
        with contextlib.suppress(Exception):
            for config in self._streams:
                await ensure_stream(self.js, config)

    async def close(self) -> None:
        """Stop connecting and drain the connection."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.connection.drain()
            self.connection = None
