"""One way to open the optional Redis connection, with fail-fast timeouts."""

from __future__ import annotations

import redis.asyncio as redis_asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff


def connect_redis(url: str, *, timeout_seconds: float) -> redis_asyncio.Redis:
    """A client that gives up quickly when Redis is down.

    Callers (caches, rate limits, revocation checks) degrade or fail closed on errors; a client
    that retried with back-off would instead stall every request behind a dead Redis.
    """
    return redis_asyncio.Redis.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), 1),
    )
