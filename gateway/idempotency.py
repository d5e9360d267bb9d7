"""Idempotency-Key on POST: the first answer is kept (24 h) and replayed for the same key and body.

The key is scoped to the caller. A first request claims the key (state "pending"); a concurrent
duplicate is told to retry later; once the answer is known it is stored with a fingerprint of the
request, so the same key with another body is a 409 and never a second effect. Server errors are
not stored: the client may retry them.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

PENDING_TTL_SECONDS = 60


@dataclass(frozen=True)
class StoredAnswer:
    """A response kept for replay."""

    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a key: proceed, replay an answer, or refuse."""

    proceed: bool = False
    replay: StoredAnswer | None = None
    conflict: str | None = None  # "in_progress" or "different_request"


def fingerprint(method: str, path: str, body: bytes) -> str:
    """Identifies "the same request" for a key."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _encode(state: dict[str, Any]) -> bytes:
    return orjson.dumps(state)


def _decide(state: dict[str, Any], print_: str) -> Claim:
    if state.get("fp") != print_:
        return Claim(conflict="different_request")
    if state.get("state") != "done":
        return Claim(conflict="in_progress")
    return Claim(
        replay=StoredAnswer(
            status=int(state["status"]),
            body=base64.b64decode(state["body"]),
            headers=[(k.encode(), v.encode()) for k, v in state["headers"]],
        )
    )


def _done(print_: str, answer: StoredAnswer) -> dict[str, Any]:
    return {
        "state": "done",
        "fp": print_,
        "status": answer.status,
        "body": base64.b64encode(answer.body).decode(),
        "headers": [[k.decode(), v.decode()] for k, v in answer.headers],
    }


class IdempotencyStore(Protocol):
    """Claim, complete or release keys."""

    async def claim(self, key: str, print_: str) -> Claim:
        """Start handling `key`, or say what to answer instead."""
        ...

    async def complete(self, key: str, print_: str, answer: StoredAnswer) -> None:
        """Keep the answer for replay."""
        ...

    async def release(self, key: str) -> None:
        """Forget a claim whose request failed in a retryable way."""
        ...


class MemoryIdempotencyStore:
    """In-process store (one gateway replica), entries expire after the TTL."""

    def __init__(self, ttl_seconds: int) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[str, tuple[float, dict[str, Any]]] = {}

    async def claim(self, key: str, print_: str) -> Claim:
        """Claim or decide."""
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return _decide(entry[1], print_)
        self._entries[key] = (now + PENDING_TTL_SECONDS, {"state": "pending", "fp": print_})
        if len(self._entries) > 100_000:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
        return Claim(proceed=True)

    async def complete(self, key: str, print_: str, answer: StoredAnswer) -> None:
        """Keep the answer."""
        self._entries[key] = (time.monotonic() + self._ttl, _done(print_, answer))

    async def release(self, key: str) -> None:
        """Forget the claim."""
        self._entries.pop(key, None)


class RedisIdempotencyStore:
    """Shared by every gateway replica: SET NX for the claim, the answer as JSON with a TTL."""

    def __init__(self, redis: Any, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    @staticmethod
    def _key(key: str) -> str:
        return f"unpuzzle:idempotency:{key}"

    async def claim(self, key: str, print_: str) -> Claim:
        """Claim with SET NX, else decide from what is stored."""
        pending = _encode({"state": "pending", "fp": print_})
        if await self._redis.set(self._key(key), pending, nx=True, ex=PENDING_TTL_SECONDS):
            return Claim(proceed=True)
        stored = await self._redis.get(self._key(key))
        if stored is None:  # expired between the two calls: try once more
            if await self._redis.set(self._key(key), pending, nx=True, ex=PENDING_TTL_SECONDS):
                return Claim(proceed=True)
            return Claim(conflict="in_progress")
        return _decide(orjson.loads(stored), print_)

    async def complete(self, key: str, print_: str, answer: StoredAnswer) -> None:
        """Keep the answer for the TTL."""
        await self._redis.set(self._key(key), _encode(_done(print_, answer)), ex=self._ttl)

    async def release(self, key: str) -> None:
        """Forget the claim."""
        await self._redis.delete(self._key(key))
