"""Edge behaviour: security headers, CORS, limits, rate limiting, idempotency, gzip, OpenAPI."""

from __future__ import annotations

import asyncio
import gzip
import uuid
from dataclasses import replace

import httpx
import pytest

from gateway.app import create_app
from gateway.config import EdgeSettings, RateLimit, parse_rate_limits
from gateway.ratelimit import MemoryLimiter, RedisLimiter
from kernel.settings import Settings
from tests.support import open_gateway_client

pytestmark = pytest.mark.integration


async def _client(settings: Settings, edge: EdgeSettings) -> tuple[httpx.AsyncClient, object]:
    app = create_app(settings, edge=edge)
    return await open_gateway_client(app), app


async def _close(client: httpx.AsyncClient, app) -> None:
    await client.aclose()
    await app.backends.close()


async def test_security_headers_on_every_answer(gateway):
    for response in (await gateway.get("/healthz"), await gateway.get("/api/v1/nowhere")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"] == "frame-ancestors 'none'"
        assert response.headers["strict-transport-security"].startswith("max-age=")
        assert response.headers["referrer-policy"] == "no-referrer"


async def test_cors_allows_configured_origins_only(gateway):
    preflight = await gateway.options(
        "/api/v1/courses",
        headers={"origin": "http://localhost:3000", "access-control-request-method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "x-csrf-token" in preflight.headers["access-control-allow-headers"]
    refused = await gateway.options(
        "/api/v1/courses",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    simple = await gateway.get("/healthz", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


async def test_body_limit_is_413_and_deep_json_is_400(gateway_settings, tokens):
    client, app = await _client(
        gateway_settings, EdgeSettings(max_body_bytes=1024, max_json_depth=5)
    )
    try:
        big = await client.post(
            "/api/v1/courses", json={"title": "x" * 2000}, headers=tokens.instructor()
        )
        assert big.status_code == 413
        assert big.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
        nested: object = "leaf"
        for _ in range(10):
            nested = {"a": nested}
        deep = await client.post(
            "/api/v1/courses", json={"title": "t", "x": nested}, headers=tokens.instructor()
        )
        assert deep.status_code == 400
        assert deep.json()["error"]["code"] == "MALFORMED_REQUEST"
    finally:
        await _close(client, app)


async def test_rate_limit_headers_and_429_with_retry_after(gateway_settings):
    edge = EdgeSettings(rate_limits={**parse_rate_limits("read=3/60,write=3/60,auth=3/60")})
    client, app = await _client(gateway_settings, edge)
    try:
        answers = [await client.get("/api/v1/courses/nope") for _ in range(4)]
        assert [a.status_code for a in answers] == [404, 404, 404, 429]
        assert [a.headers["x-ratelimit-remaining"] for a in answers[:3]] == ["2", "1", "0"]
        assert all(a.headers["x-ratelimit-limit"] == "3" for a in answers)
        limited = answers[-1]
        assert limited.json()["error"]["code"] == "RATE_LIMITED"
        assert int(limited.headers["retry-after"]) >= 1
        assert int(limited.headers["x-ratelimit-reset"]) > 0
    finally:
        await _close(client, app)


async def test_memory_limiter_refills_at_the_sustained_rate():
    limiter = MemoryLimiter()
    rate = RateLimit(limit=2, period_seconds=0.2)
    assert [(await limiter.hit("k", rate)).allowed for _ in range(3)] == [True, True, False]
    await asyncio.sleep(0.12)
    assert (await limiter.hit("k", rate)).allowed
    assert (await limiter.hit("other", rate)).allowed  # buckets are per key


async def test_redis_limiter_uses_one_shared_bucket(redis_url):
    import redis.asyncio as redis_asyncio

    redis = redis_asyncio.Redis.from_url(redis_url)
    try:
        first, second = RedisLimiter(redis), RedisLimiter(redis)  # two gateway replicas
        rate = RateLimit(limit=3, period_seconds=60)
        key = f"test:{asyncio.get_running_loop().time()}"
        decisions = [await (first if i % 2 else second).hit(key, rate) for i in range(4)]
        assert [d.allowed for d in decisions] == [True, True, True, False]
        assert decisions[-1].retry_after_seconds > 0
    finally:
        await redis.aclose()


async def test_redis_failure_falls_back_to_the_in_process_limiter():
    import redis.asyncio as redis_asyncio

    unreachable = redis_asyncio.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    limiter = RedisLimiter(unreachable)
    rate = RateLimit(limit=1, period_seconds=60)
    assert (await limiter.hit("k", rate)).allowed
    assert not (await limiter.hit("k", rate)).allowed
    await unreachable.aclose()


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_idempotency_key_replays_and_refuses_a_different_body(
    store, gateway_settings, tokens, request
):
    settings = gateway_settings
    if store == "redis":
        settings = replace(settings, redis_url=request.getfixturevalue("redis_url"))
    client, app = await _client(settings, EdgeSettings())
    try:
        owner = tokens.instructor()
        key = {"idempotency-key": f"k-{store}-{id(client)}", **owner}
        first = await client.post("/api/v1/courses", json={"title": "Once only"}, headers=key)
        again = await client.post("/api/v1/courses", json={"title": "Once only"}, headers=key)
        assert first.status_code == again.status_code == 201
        assert again.json()["data"]["id"] == first.json()["data"]["id"]  # no second course
        assert again.headers["idempotent-replayed"] == "true"
        other = await client.post("/api/v1/courses", json={"title": "Another"}, headers=key)
        assert other.status_code == 409
        assert other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    finally:
        await _close(client, app)


async def test_large_answers_are_gzipped(gateway):
    response = await gateway.get("/api/v1/openapi.json", headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["openapi"] == "3.1.0"  # httpx decompressed it
    raw = await gateway.get("/api/v1/openapi.json", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert len(gzip.compress(raw.content)) < len(raw.content)


async def test_deprecated_alias_route_answers_with_deprecation_headers(gateway, tokens):
    owner = tokens.instructor(uuid.uuid4())
    created = await gateway.post("/api/v1/courses", json={"title": "Alias course"}, headers=owner)
    assert created.status_code == 201, created.text
    course_id = created.json()["data"]["id"]
    old = await gateway.get(f"/api/v1/catalog/courses/{course_id}", headers=owner)
    assert old.status_code == 200, old.text
    assert old.json()["data"]["id"] == course_id
    assert old.headers["deprecation"] == "true"
    assert old.headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert old.headers["link"] == '</api/v1/courses/{courseIdOrSlug}>; rel="successor-version"'
    current = await gateway.get(f"/api/v1/courses/{course_id}", headers=owner)
    assert current.status_code == 200
    assert "deprecation" not in current.headers


async def test_headers_that_cannot_travel_as_grpc_metadata_are_a_400(gateway, tokens):
    # grpc.aio neither fails nor times out on such metadata: the request would hang.
    bad_key = await gateway.post(
        "/api/v1/courses",
        json={"title": "Header course"},
        headers={**tokens.instructor(), "idempotency-key": b"caf\xe9"},
    )
    assert bad_key.status_code == 400
    assert bad_key.json()["error"]["code"] == "MALFORMED_REQUEST"
    odd_agent = await gateway.get("/api/v1/categories", headers={"user-agent": b"caf\xe9"})
    assert odd_agent.status_code == 200
