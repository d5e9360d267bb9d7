"""Rate limiting with GCRA (generic cell rate algorithm): one Lua script in Redis, on Redis's clock.

GCRA keeps one number per key, the theoretical arrival time (TAT) of the next request. A request
is allowed when it does not arrive more than the burst tolerance ahead of the TAT. It is exact,
smooth (no window edges to game) and atomic in one round trip. Without Redis the same algorithm
runs in process, per gateway replica.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import Counter

from gateway.config import RateLimit

_log = logging.getLogger(__name__)

RATE_LIMITED = Counter(
    "unpuzzle_rate_limited_total", "Requests refused with 429, by route class.", ["route_class"]
)
LIMITER_FALLBACKS = Counter(
    "unpuzzle_rate_limiter_fallbacks_total", "Redis failures answered by the in-process limiter."
)

# KEYS[1] = bucket key; ARGV = emission interval (ms), burst (requests), cost.
# Returns {allowed (0/1), remaining, retry_after_ms, reset_ms}.
_GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tolerance = interval * burst
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval * cost
local allow_at = new_tat - tolerance
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now) + 1000)
local remaining = math.floor((tolerance - (new_tat - now)) / interval)
return {1, remaining, 0, new_tat - now}
"""


@dataclass(frozen=True)
class Decision:
    """The outcome for one request, and what to tell the client."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: float
    retry_after_seconds: float

    def headers(self) -> list[tuple[bytes, bytes]]:
        """X-RateLimit-* (and Retry-After when refused)."""
        headers = [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(max(0, self.remaining)).encode()),
            (b"x-ratelimit-reset", str(math.ceil(self.reset_seconds)).encode()),
        ]
        if not self.allowed:
            headers.append(
                (b"retry-after", str(max(1, math.ceil(self.retry_after_seconds))).encode())
            )
        return headers


class Limiter(Protocol):
    """Counts one request against `key` under `rate`."""

    async def hit(self, key: str, rate: RateLimit) -> Decision:
        """Allow or refuse."""
        ...


class MemoryLimiter:
    """GCRA in process (monotonic clock); at most `max_keys` buckets, oldest dropped first."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._tats: OrderedDict[str, float] = OrderedDict()
        self._max_keys = max_keys

    async def hit(self, key: str, rate: RateLimit) -> Decision:
        """Allow or refuse, updating the bucket."""
        now = time.monotonic()
        interval = rate.emission_interval
        tolerance = interval * rate.limit
        tat = max(self._tats.get(key, now), now)
        new_tat = tat + interval
        allow_at = new_tat - tolerance
        if now < allow_at:
            return Decision(False, rate.limit, 0, tat - now, allow_at - now)
        self._tats[key] = new_tat
        self._tats.move_to_end(key)
        if len(self._tats) > self._max_keys:
            self._tats.popitem(last=False)
        remaining = math.floor((tolerance - (new_tat - now)) / interval)
        return Decision(True, rate.limit, remaining, new_tat - now, 0.0)


class RedisLimiter:
    """GCRA in Redis (shared by every gateway replica); falls back to process memory on errors."""

    def __init__(self, redis: Any, fallback: MemoryLimiter | None = None) -> None:
        self._script = redis.register_script(_GCRA_LUA)
        self._fallback = fallback or MemoryLimiter()

    async def hit(self, key: str, rate: RateLimit) -> Decision:
        """Allow or refuse using Redis's clock; the in-process limiter answers if Redis fails."""
        interval_ms = rate.emission_interval * 1000
        try:
            allowed, remaining, retry_ms, reset_ms = await self._script(
                keys=[f"unpuzzle:ratelimit:{key}"], args=[interval_ms, rate.limit, 1]
            )
        except Exception:  # Redis down or slow: keep limiting, per replica
            LIMITER_FALLBACKS.inc()
            return await self._fallback.hit(key, rate)
        return Decision(
            bool(allowed),
            rate.limit,
            int(remaining),
            float(reset_ms) / 1000,
            float(retry_ms) / 1000,
        )
