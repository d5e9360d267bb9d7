"""A value computed at most once per time-to-live, shared by every caller of the process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class TtlValue(Generic[T]):
    """Keeps one value for `ttl` seconds; concurrent misses load it once (single flight)."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._value: T | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def get(self, load: Callable[[], Awaitable[T]]) -> T:
        """The cached value, or the result of `load()` when it expired."""
        if self._value is not None and self._clock() < self._expires:
            return self._value
        async with self._lock:
            if self._value is None or self._clock() >= self._expires:
                self._value = await load()
                self._expires = self._clock() + self._ttl
            return self._value
