"""Read-through two-level cache of protobuf messages (ARCHITECTURE.md §8).

- L1: in-process, bounded LRU with per-entry TTL, holding serialized bytes (a caller can never
  mutate what another caller gets).
- L2: Redis, holding the same bytes behind a small header. Optional: without Redis, or while it
  fails, L1 alone serves and misses go to the loader (errors are counted, never raised).
- A miss runs the loader once per key and process (single flight); concurrent callers share it.
  A loader answering None is cached as "not found" for a short negative TTL.
- Keys carry a fingerprint of the message schema, so a deploy with a changed message never
  reads bytes written by the old code.
- Invalidation evicts L1, bumps the key's version in Redis (L2 entries of older versions read
  as misses, even when written late by a loader that started before the change), and tells the
  other processes over core NATS (`unpuzzle.cache.invalidate.<namespace>`) to evict their L1.

Freshness: a load that overlaps an invalidation is returned to its callers but not stored, and
an L2 entry is stored with the key version read *before* its load, so after a write commits and
invalidates, every process serves the new data on its next read (bounded by NATS delivery).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import struct
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson
from google.protobuf import descriptor_pb2
from google.protobuf.message import Message
from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from kernel.messaging import NatsClient

_log = logging.getLogger(__name__)

M = TypeVar("M", bound=Message)
T = TypeVar("T")
Loader = Callable[[], Awaitable[M | None]]

INVALIDATION_SUBJECT = "unpuzzle.cache.invalidate"
# Redis key versions must outlive every entry stamped with them.
_VERSION_TTL_SECONDS = 24 * 3600
_MAX_PLAIN_KEY = 120
# What a failing or hung Redis raises; the cache then answers from L1 and the loader.
_REDIS_FAILURES = (RedisError, OSError, TimeoutError)
# L2 value header: key version, namespace epoch, found flag.
_HEADER = struct.Struct(">QQB")

CACHE_REQUESTS = Counter(
    "unpuzzle_cache_requests_total",
    "Cache lookups by namespace, level (l1, l2) and outcome (hit, miss, error).",
    ["namespace", "level", "outcome"],
)
CACHE_LOADS = Counter(
    "unpuzzle_cache_loads_total", "Loader calls after a miss on both levels.", ["namespace"]
)
CACHE_INVALIDATIONS = Counter(
    "unpuzzle_cache_invalidations_total",
    "Invalidations applied, by origin (local write, remote process, NATS reconnect).",
    ["namespace", "origin"],
)


def schema_fingerprint(message_type: type[Message]) -> str:
    """Short hash of the message's .proto file and its imports, as serialized descriptors."""
    files: dict[str, bytes] = {}
    pending = [message_type.DESCRIPTOR.file]
    while pending:
        file = pending.pop()
        if file.name in files:
            continue
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        files[file.name] = proto.SerializeToString(deterministic=True)
        pending.extend(file.dependencies)
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode())
        digest.update(files[name])
    return digest.hexdigest()[:12]


@dataclass
class _Entry:
    expires_at: float
    payload: bytes | None  # None: cached "not found"


class _Lru:
    """Bounded LRU of entries with their own expiry."""

    def __init__(self, max_entries: int) -> None:
        self._max = max_entries
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()

    def get(self, key: tuple[str, str], now: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at <= now:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: tuple[str, str], entry: _Entry) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def pop(self, key: tuple[str, str]) -> None:
        self._entries.pop(key, None)

    def clear(self, namespace: str) -> None:
        for key in [k for k in self._entries if k[0] == namespace]:
            del self._entries[key]


class _Flight:
    """One load in progress; `stale` once an invalidation overlapped it."""

    task: asyncio.Task[bytes | None]

    def __init__(self) -> None:
        self.stale = False


@dataclass(frozen=True)
class _Stamp:
    """Key version and namespace epoch read from Redis before a load."""

    key_version: int
    epoch: int


class _Miss:
    """Nothing cached (as opposed to a cached "not found", which is None)."""


_MISS = _Miss()
Lookup = bytes | None | _Miss


@dataclass
class CacheNamespace(Generic[M]):
    """One kind of cached message (e.g. course pages), with its TTLs."""

    cache: TwoLevelCache
    name: str
    message_type: type[M]
    ttl: float
    negative_ttl: float
    l1_ttl: float
    schema: str = ""
    _flights: dict[str, _Flight] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.schema = schema_fingerprint(self.message_type)

    async def get(self, key: str, loader: Loader[M]) -> M | None:
        """The cached message, else the loader's (stored on both levels); None: not found."""
        cached = self.cache._l1_get(self, key)
        if isinstance(cached, _Miss):
            flight = self._flights.get(key)
            if flight is None:
                flight = self._start(key, loader)
            # Shielded: a caller that gives up does not cancel the load the others wait for.
            payload = await asyncio.shield(flight.task)
        else:
            payload = cached
        if payload is None:
            return None
        return self.message_type.FromString(payload)

    def _start(self, key: str, loader: Loader[M]) -> _Flight:
        flight = _Flight()
        flight.task = asyncio.create_task(self._fill(key, loader, flight))
        self._flights[key] = flight

        def land(task: asyncio.Task[bytes | None]) -> None:
            if self._flights.get(key) is flight:
                del self._flights[key]
            if not task.cancelled():
                task.exception()  # retrieved: the callers awaiting it have re-raised it

        flight.task.add_done_callback(land)
        return flight

    async def _fill(self, key: str, loader: Loader[M], flight: _Flight) -> bytes | None:
        found, stamp = await self.cache._l2_get(self, key)
        if not isinstance(found, _Miss):
            if not flight.stale:
                self.cache._l1_put(self, key, found)
            return found
        CACHE_LOADS.labels(self.name).inc()
        message = await loader()
        payload = None if message is None else message.SerializeToString()
        if not flight.stale:
            self.cache._l1_put(self, key, payload)
            if stamp is not None:
                await self.cache._l2_put(self, key, payload, stamp)
        return payload

    async def invalidate(self, *keys: str) -> None:
        """Evict keys on both levels, here and (over NATS) in every other process."""
        if not keys:
            return
        self.evict_local(list(keys), origin="local")
        await self.cache._l2_invalidate(self, keys)
        await self.cache._broadcast(self, list(keys))

    async def invalidate_all(self) -> None:
        """Evict the whole namespace on both levels, everywhere."""
        self.evict_local(None, origin="local")
        await self.cache._l2_invalidate_all(self)
        await self.cache._broadcast(self, None)

    def evict_local(self, keys: list[str] | None, *, origin: str) -> None:
        """Drop keys (None: all) from L1 and detach overlapping loads so that they are not
        stored and new callers start a fresh load."""
        CACHE_INVALIDATIONS.labels(self.name, origin).inc()
        if keys is None:
            self.cache._l1.clear(self.name)
            detached = list(self._flights)
        else:
            for key in keys:
                self.cache._l1.pop((self.name, key))
            detached = [key for key in keys if key in self._flights]
        for key in detached:
            self._flights.pop(key).stale = True


class TwoLevelCache:
    """The process-wide cache: L1, optional Redis (L2), NATS for cross-process invalidation."""

    def __init__(
        self,
        *,
        redis: Redis | None,
        nats: NatsClient | None,
        l1_max_entries: int = 10_000,
        key_prefix: str = "unpuzzle:cache",
        redis_timeout_seconds: float = 0.25,
        redis_retry_seconds: float = 5.0,
    ) -> None:
        self._redis = redis
        self._timeout = redis_timeout_seconds
        self._nats = nats
        self._l1 = _Lru(l1_max_entries)
        self._prefix = key_prefix
        self._retry_seconds = redis_retry_seconds
        self._redis_down_until = 0.0
        # Namespaces whose L2 invalidation failed: bump their epoch once Redis answers again.
        self._dirty: set[str] = set()
        self._namespaces: dict[str, CacheNamespace[Any]] = {}
        self._origin = uuid.uuid4().hex
        self.listening = asyncio.Event()

    def namespace(
        self,
        name: str,
        message_type: type[M],
        *,
        ttl: float,
        negative_ttl: float = 5.0,
        l1_ttl: float | None = None,
    ) -> CacheNamespace[M]:
        """Register a namespace (unique per process; also the NATS subject suffix)."""
        if name in self._namespaces:
            raise ValueError(f"cache namespace {name!r} is already registered")
        namespace = CacheNamespace(
            self,
            name,
            message_type,
            ttl=ttl,
            negative_ttl=negative_ttl,
            l1_ttl=ttl if l1_ttl is None else l1_ttl,
        )
        self._namespaces[name] = namespace
        return namespace

    # ------------------------------------------------------------------------------------- L1

    def _l1_get(self, namespace: CacheNamespace[Any], key: str) -> Lookup:
        entry = self._l1.get((namespace.name, key), time.monotonic())
        if entry is None:
            CACHE_REQUESTS.labels(namespace.name, "l1", "miss").inc()
            return _MISS
        CACHE_REQUESTS.labels(namespace.name, "l1", "hit").inc()
        return entry.payload

    def _l1_put(self, namespace: CacheNamespace[Any], key: str, payload: bytes | None) -> None:
        ttl = namespace.l1_ttl if payload is not None else namespace.negative_ttl
        self._l1.put((namespace.name, key), _Entry(time.monotonic() + ttl, payload))

    # ------------------------------------------------------------------------------------- L2

    def _keys(self, namespace: CacheNamespace[Any], key: str) -> tuple[str, str, str]:
        """Redis keys of the entry, of its version counter and of the namespace epoch."""
        if len(key) > _MAX_PLAIN_KEY:
            key = hashlib.sha256(key.encode()).hexdigest()
        base = f"{self._prefix}:{namespace.name}"
        return f"{base}:{namespace.schema}:{key}", f"{base}:v:{key}", self._epoch_key(namespace)

    def _epoch_key(self, namespace: CacheNamespace[Any]) -> str:
        return f"{self._prefix}:{namespace.name}:epoch"

    async def _bounded(self, call: Awaitable[T]) -> T:
        """A Redis call that may take at most the L2 timeout (a hung Redis must not stall)."""
        async with asyncio.timeout(self._timeout):  # no extra task per call, unlike wait_for
            return await call

    def _redis_usable(self) -> Redis | None:
        if self._redis is None or time.monotonic() < self._redis_down_until:
            return None
        return self._redis

    def _redis_failed(self, namespace: CacheNamespace[Any], error: Exception) -> None:
        CACHE_REQUESTS.labels(namespace.name, "l2", "error").inc()
        if time.monotonic() >= self._redis_down_until:
            _log.warning("redis cache unavailable; serving from L1 and the database: %s", error)
        self._redis_down_until = time.monotonic() + self._retry_seconds

    async def _l2_get(
        self, namespace: CacheNamespace[Any], key: str
    ) -> tuple[Lookup, _Stamp | None]:
        """(payload, None, or _MISS; the stamp to store a loaded value under, if Redis works)."""
        redis = self._redis_usable()
        if redis is None:
            return _MISS, None
        data_key, version_key, epoch_key = self._keys(namespace, key)
        try:
            if namespace.name in self._dirty:
                await self._bounded(redis.incr(epoch_key))
                self._dirty.discard(namespace.name)
            raw, version, epoch = await self._bounded(redis.mget(data_key, version_key, epoch_key))
        except _REDIS_FAILURES as error:
            self._redis_failed(namespace, error)
            return _MISS, None
        stamp = _Stamp(int(version or 0), int(epoch or 0))
        if isinstance(raw, bytes) and len(raw) >= _HEADER.size:
            key_version, entry_epoch, found = _HEADER.unpack_from(raw)
            if (key_version, entry_epoch) == (stamp.key_version, stamp.epoch):
                CACHE_REQUESTS.labels(namespace.name, "l2", "hit").inc()
                return (bytes(raw[_HEADER.size :]) if found else None), stamp
        CACHE_REQUESTS.labels(namespace.name, "l2", "miss").inc()
        return _MISS, stamp

    async def _l2_put(
        self, namespace: CacheNamespace[Any], key: str, payload: bytes | None, stamp: _Stamp
    ) -> None:
        redis = self._redis_usable()
        if redis is None:
            return
        data_key, _, _ = self._keys(namespace, key)
        header = _HEADER.pack(stamp.key_version, stamp.epoch, payload is not None)
        ttl = namespace.ttl if payload is not None else namespace.negative_ttl
        try:
            await self._bounded(redis.set(data_key, header + (payload or b""), px=int(ttl * 1000)))
        except _REDIS_FAILURES as error:
            self._redis_failed(namespace, error)

    async def _l2_invalidate(self, namespace: CacheNamespace[Any], keys: tuple[str, ...]) -> None:
        redis = self._redis_usable()
        if redis is None:
            if self._redis is not None:
                self._dirty.add(namespace.name)
            return
        try:
            async with redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    data_key, version_key, _ = self._keys(namespace, key)
                    pipe.incr(version_key)
                    pipe.expire(version_key, _VERSION_TTL_SECONDS)
                    pipe.delete(data_key)
                await self._bounded(pipe.execute())
        except _REDIS_FAILURES as error:
            self._dirty.add(namespace.name)
            self._redis_failed(namespace, error)

    async def _l2_invalidate_all(self, namespace: CacheNamespace[Any]) -> None:
        redis = self._redis_usable()
        if redis is None:
            if self._redis is not None:
                self._dirty.add(namespace.name)
            return
        try:
            await self._bounded(redis.incr(self._epoch_key(namespace)))
        except _REDIS_FAILURES as error:
            self._dirty.add(namespace.name)
            self._redis_failed(namespace, error)

    # ----------------------------------------------------------------------------- broadcast

    async def _broadcast(self, namespace: CacheNamespace[Any], keys: list[str] | None) -> None:
        connection = self._nats.connection if self._nats is not None else None
        if connection is None or connection.is_closed:
            return
        body = orjson.dumps({"origin": self._origin, "keys": keys})
        try:
            await connection.publish(f"{INVALIDATION_SUBJECT}.{namespace.name}", body)
        except Exception as error:
            _log.warning("cache invalidation not broadcast: %s", error)

    async def listen(self) -> None:
        """Background job: apply other processes' invalidations to this process's L1."""
        if self._nats is None:
            return
        await self._nats.wait_ready()
        connection = self._nats.connection
        assert connection is not None  # wait_ready returned
        subscription = await connection.subscribe(
            f"{INVALIDATION_SUBJECT}.>", cb=self._on_invalidation
        )
        # Invalidations sent while the connection was down are lost: forget L1 when it is back.
        self._nats.on_reconnect(self._forget_l1)
        # Make sure the server has the subscription before warm-up relies on it.
        await connection.flush()
        self.listening.set()
        try:
            await asyncio.Event().wait()
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    def _forget_l1(self) -> None:
        for namespace in self._namespaces.values():
            namespace.evict_local(None, origin="reconnect")

    async def _on_invalidation(self, message: Any) -> None:
        namespace = self._namespaces.get(message.subject.removeprefix(f"{INVALIDATION_SUBJECT}."))
        if namespace is None:
            return
        try:
            body = orjson.loads(message.data)
        except orjson.JSONDecodeError:
            _log.warning("malformed cache invalidation on %s", message.subject)
            return
        if body.get("origin") == self._origin:
            return
        keys = body.get("keys")
        namespace.evict_local(None if keys is None else [str(k) for k in keys], origin="remote")
