"""The two-level cache: L1 behaviour, single flight, negative entries, invalidation races,
Redis as a shared L2 (and as a failing one), and invalidation across processes over NATS."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis_asyncio
from google.protobuf.wrappers_pb2 import Int64Value, StringValue
from prometheus_client import generate_latest
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from deploy.embedded_nats import free_port
from kernel.cache import CACHE_REQUESTS, TwoLevelCache, schema_fingerprint
from kernel.messaging import NatsClient
from tests.support import eventually
from unpuzzle.course.v1 import course_pb2


class CountingLoader:
    """A loader that counts its calls, optionally slowly or answering "not found"."""

    def __init__(self, value: str | None = "v1", delay: float = 0.0) -> None:
        self.value = value
        self.delay = delay
        self.calls = 0

    async def __call__(self) -> StringValue | None:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return None if self.value is None else StringValue(value=self.value)


def _count(namespace: str, level: str, outcome: str) -> float:
    return CACHE_REQUESTS.labels(namespace, level, outcome)._value.get()


def _name() -> str:
    return f"test.{uuid.uuid4().hex[:8]}"


async def test_a_second_read_is_an_l1_hit_and_callers_get_their_own_copy():
    namespace = TwoLevelCache(redis=None, nats=None).namespace(_name(), StringValue, ttl=60)
    loader = CountingLoader()
    first = await namespace.get("k", loader)
    assert first is not None
    first.value = "mutated by a caller"
    again = await namespace.get("k", loader)
    assert again == StringValue(value="v1")
    assert loader.calls == 1
    assert _count(namespace.name, "l1", "hit") == 1
    assert _count(namespace.name, "l1", "miss") == 1
    exposition = generate_latest().decode()
    assert f'unpuzzle_cache_requests_total{{level="l1",namespace="{namespace.name}"' in exposition


async def test_one_hundred_concurrent_misses_make_one_load():
    namespace = TwoLevelCache(redis=None, nats=None).namespace(_name(), StringValue, ttl=60)
    loader = CountingLoader(delay=0.05)
    results = await asyncio.gather(*(namespace.get("hot", loader) for _ in range(100)))
    assert loader.calls == 1
    assert {r.value for r in results if r is not None} == {"v1"}
    assert len(results) == 100


async def test_not_found_is_cached_briefly():
    namespace = TwoLevelCache(redis=None, nats=None).namespace(
        _name(), StringValue, ttl=60, negative_ttl=0.05
    )
    loader = CountingLoader(value=None)
    assert await namespace.get("missing", loader) is None
    assert await namespace.get("missing", loader) is None
    assert loader.calls == 1
    await asyncio.sleep(0.06)
    loader.value = "now it exists"
    assert await namespace.get("missing", loader) == StringValue(value="now it exists")
    assert loader.calls == 2


async def test_entries_expire_and_l1_is_bounded_least_recently_used_first():
    cache = TwoLevelCache(redis=None, nats=None, l1_max_entries=2)
    namespace = cache.namespace(_name(), StringValue, ttl=60, l1_ttl=0.05)
    loader = CountingLoader()
    await namespace.get("a", loader)
    await asyncio.sleep(0.06)
    await namespace.get("a", loader)
    assert loader.calls == 2
    await namespace.get("b", loader)
    await namespace.get("a", loader)  # a is now the most recently used
    await namespace.get("c", loader)  # evicts b
    assert loader.calls == 4
    await namespace.get("a", loader)
    await namespace.get("b", loader)
    assert loader.calls == 5


async def test_failed_loads_reach_every_waiter_and_are_not_cached():
    namespace = TwoLevelCache(redis=None, nats=None).namespace(_name(), StringValue, ttl=60)
    calls = 0

    async def broken() -> StringValue:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise RuntimeError("database down")

    results = await asyncio.gather(
        *(namespace.get("k", broken) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    assert calls == 1
    with pytest.raises(RuntimeError):
        await namespace.get("k", broken)
    assert calls == 2


async def test_a_load_overlapping_an_invalidation_is_not_stored():
    namespace = TwoLevelCache(redis=None, nats=None).namespace(_name(), StringValue, ttl=60)
    slow = CountingLoader(value="before the write", delay=0.05)
    in_flight = asyncio.create_task(namespace.get("k", slow))
    await asyncio.sleep(0.01)
    await namespace.invalidate("k")  # the write committed while the load was reading
    fresh = CountingLoader(value="after the write")
    assert await namespace.get("k", fresh) == StringValue(value="after the write")
    assert await in_flight == StringValue(value="before the write")
    assert await namespace.get("k", fresh) == StringValue(value="after the write")
    assert fresh.calls == 1


async def test_invalidate_all_empties_only_its_namespace():
    cache = TwoLevelCache(redis=None, nats=None)
    pages, others = (cache.namespace(_name(), StringValue, ttl=60) for _ in range(2))
    loader = CountingLoader()
    for namespace in (pages, others):
        await namespace.get("a", loader)
        await namespace.get("b", loader)
    await pages.invalidate_all()
    for namespace in (pages, others):
        await namespace.get("a", loader)
    assert loader.calls == 5


def test_keys_are_versioned_by_message_schema():
    assert schema_fingerprint(StringValue) == schema_fingerprint(StringValue)
    assert schema_fingerprint(course_pb2.Course) != schema_fingerprint(StringValue)
    cache = TwoLevelCache(redis=None, nats=None)
    assert cache.namespace(_name(), Int64Value, ttl=1).schema == schema_fingerprint(Int64Value)
    cache.namespace("dup", StringValue, ttl=1)
    with pytest.raises(ValueError, match="already registered"):
        cache.namespace("dup", StringValue, ttl=1)


# ----------------------------------------------------------------------------- Redis (L2)


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[redis_asyncio.Redis]:
    client = redis_asyncio.Redis.from_url(redis_url, socket_timeout=1.0)
    yield client
    await client.aclose()


def _pair(client: redis_asyncio.Redis, name: str, **kwargs: float):
    """Two processes' caches sharing one Redis (L1s separate)."""
    prefix = f"test:{uuid.uuid4().hex}"
    return [
        TwoLevelCache(redis=client, nats=None, key_prefix=prefix).namespace(
            name, StringValue, ttl=60, **kwargs
        )
        for _ in range(2)
    ]


async def test_redis_shares_loads_between_processes(redis_client):
    first, second = _pair(redis_client, _name())
    loader = CountingLoader()
    await first.get("k", loader)
    assert await second.get("k", loader) == StringValue(value="v1")
    assert loader.calls == 1
    assert _count(first.name, "l2", "hit") == 1


async def test_redis_never_serves_an_entry_written_by_a_load_older_than_a_write(redis_client):
    first, second = _pair(redis_client, _name())
    slow = CountingLoader(value="stale", delay=0.05)
    in_flight = asyncio.create_task(second.get("k", slow))
    await asyncio.sleep(0.01)
    await first.invalidate("k")  # bumps the key version while `second` is still loading
    await in_flight
    fresh = CountingLoader(value="fresh")
    assert await first.get("k", fresh) == StringValue(value="fresh")
    assert fresh.calls == 1


async def test_negative_entries_and_invalidate_all_reach_redis(redis_client):
    first, second = _pair(redis_client, _name())
    missing = CountingLoader(value=None)
    assert await first.get("gone", missing) is None
    assert await second.get("gone", missing) is None
    assert missing.calls == 1
    await first.get("k", CountingLoader(value="old"))
    await first.invalidate_all()
    assert await second.get("k", CountingLoader(value="new")) == StringValue(value="new")


async def test_without_a_working_redis_the_loader_answers_and_errors_are_counted():
    dead = redis_asyncio.Redis(
        host="127.0.0.1", port=free_port(), socket_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    cache = TwoLevelCache(redis=dead, nats=None, redis_retry_seconds=60)
    namespace = cache.namespace(_name(), StringValue, ttl=60)
    loader = CountingLoader()
    assert await namespace.get("k", loader) == StringValue(value="v1")
    await namespace.invalidate("k")
    assert await namespace.get("k", loader) == StringValue(value="v1")
    assert loader.calls == 2
    # One failure opens the breaker: later calls skip Redis instead of waiting for it.
    assert _count(namespace.name, "l2", "error") == 1
    await dead.aclose()


# ----------------------------------------------------------------------------- NATS


@pytest.fixture
async def nats_clients(nats_url: str) -> AsyncIterator[list[NatsClient]]:
    clients = [NatsClient(nats_url, name=f"cache-test-{n}") for n in range(2)]
    for client in clients:
        client.start([])
        await client.wait_ready(10)
    yield clients
    for client in clients:
        await client.close()


async def test_invalidations_reach_the_other_processes_l1(nats_clients):
    name = _name()
    caches = [TwoLevelCache(redis=None, nats=client) for client in nats_clients]
    here, there = (cache.namespace(name, StringValue, ttl=60) for cache in caches)
    listeners = [asyncio.create_task(cache.listen()) for cache in caches]
    await asyncio.gather(*(cache.listening.wait() for cache in caches))

    async def invalidated_and_served_fresh(key: str, timeout: float) -> None:
        await there.get(key, CountingLoader(value="old"))
        await here.invalidate(key)
        fresh = CountingLoader(value="new")

        async def served_fresh() -> bool:
            return await there.get(key, fresh) == StringValue(value="new")

        await eventually(served_fresh, timeout=timeout)

    # The first message after start-up pays one-off costs (a cold clone compiles and imports).
    await invalidated_and_served_fresh("warm-up", timeout=10.0)
    await invalidated_and_served_fresh("k", timeout=1.0)
    for listener in listeners:
        listener.cancel()
    await asyncio.gather(*listeners, return_exceptions=True)


async def test_a_nats_reconnect_forgets_l1_because_invalidations_may_have_been_lost(
    nats_clients,
):
    cache = TwoLevelCache(redis=None, nats=nats_clients[0])
    namespace = cache.namespace(_name(), StringValue, ttl=60)
    listener = asyncio.create_task(cache.listen())
    await cache.listening.wait()
    loader = CountingLoader()
    await namespace.get("k", loader)
    for hook in nats_clients[0]._reconnect_hooks:
        hook()
    await namespace.get("k", loader)
    assert loader.calls == 2
    listener.cancel()
    await asyncio.gather(listener, return_exceptions=True)
