"""Logins hash passwords off the event loop: cheap requests are served while they run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import argon2
import pytest

from kernel.settings import Settings
from services.user.adapters.passwords import Argon2Parameters
from services.user.bootstrap import UserService, bootstrap
from tests.support import channel_to
from unpuzzle.user.v1 import auth_service_pb2, auth_service_pb2_grpc

pytestmark = pytest.mark.integration

# Heavier than production on purpose: one hash blocking the loop would stand out clearly.
SLOW = Argon2Parameters(memory_kib=64 * 1024, time_cost=3, parallelism=1)
LOGINS = 6
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
async def slow_service(settings: Settings) -> AsyncIterator[UserService]:
    service = bootstrap(settings, argon2=SLOW)
    await service.runtime.start()
    await service.infra.nats.wait_ready(10)
    assert await service.runtime.refresh_readiness()
    yield service
    await service.runtime.stop()


def _one_hash_seconds() -> float:
    hasher = argon2.PasswordHasher(
        time_cost=SLOW.time_cost, memory_cost=SLOW.memory_kib, parallelism=SLOW.parallelism
    )
    started = time.perf_counter()
    hasher.hash(PASSWORD)
    return time.perf_counter() - started


async def test_cheap_calls_stay_fast_while_logins_hash(slow_service: UserService):
    async with channel_to(slow_service.runtime.bound_port) as channel:
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        email = "hasher@example.test"
        await stub.Register(
            auth_service_pb2.RegisterRequest(email=email, password=PASSWORD, full_name="H")
        )
        await stub.GetJwks(auth_service_pb2.GetJwksRequest())  # warm the channel
        one_hash = await asyncio.to_thread(_one_hash_seconds)
        started = time.perf_counter()
        logins = asyncio.gather(
            *(
                stub.Login(auth_service_pb2.LoginRequest(email=email, password=PASSWORD))
                for _ in range(LOGINS)
            )
        )
        latencies = []
        while not logins.done():
            sent = time.perf_counter()
            await stub.GetJwks(auth_service_pb2.GetJwksRequest())
            latencies.append(time.perf_counter() - sent)
        replies = await logins
        batch = time.perf_counter() - started
    assert all(reply.access_token for reply in replies)
    # The logins did real, pooled work: far longer than one hash...
    assert batch > 2 * one_hash
    # ...while the loop kept answering, each cheap call well within one hash's time.
    # A hash on the loop would hold up most calls for a whole hash; a pause of the machine's
    # two cores may still delay one, so the median is what is asserted.
    assert len(latencies) >= 5
    median = sorted(latencies)[len(latencies) // 2]
    assert median < one_hash / 4, (median, one_hash)
