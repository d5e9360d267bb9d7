"""One client address guessing many accounts is locked out, on the real throttle tables."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from kernel.settings import Settings
from services.user.bootstrap import UserService, bootstrap
from services.user.domain.throttling import LoginLimits
from services.user.tests.integration.conftest import FAST_ARGON2
from tests.support import channel_to
from unpuzzle.user.v1 import auth_service_pb2, auth_service_pb2_grpc

pytestmark = pytest.mark.integration


@pytest.fixture
async def strict_service(settings: Settings) -> AsyncIterator[UserService]:
    service = bootstrap(settings, argon2=FAST_ARGON2, login_limits=LoginLimits(ip_failures=3))
    await service.runtime.start()
    yield service
    await service.runtime.stop()


async def _login_code(stub, email: str, ip: str) -> grpc.StatusCode:
    try:
        await stub.Login(
            auth_service_pb2.LoginRequest(email=email, password="not-the-password"),
            metadata=(("x-client-ip", ip),),
        )
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def test_one_address_guessing_many_accounts_is_locked(strict_service: UserService):
    async with channel_to(strict_service.runtime.bound_port) as channel:
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        for index in range(3):
            code = await _login_code(stub, f"guess{index}@example.test", "203.0.113.6")
            assert code == grpc.StatusCode.UNAUTHENTICATED
        locked = await _login_code(stub, "another@example.test", "203.0.113.6")
        assert locked == grpc.StatusCode.RESOURCE_EXHAUSTED
        # Another address is not affected.
        other = await _login_code(stub, "another@example.test", "203.0.113.7")
        assert other == grpc.StatusCode.UNAUTHENTICATED
