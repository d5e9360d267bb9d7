"""Raising the argon2 parameters: each account's hash is upgraded at its next login."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
import sqlalchemy as sa

from gateway.app import create_app
from kernel.settings import Settings
from services.user.adapters.passwords import Argon2Parameters
from services.user.adapters.tables import credentials, users
from services.user.bootstrap import UserService, bootstrap
from services.user.tests.api import PASSWORD, IdentityApi, ok
from tests.support import open_gateway_client

pytestmark = pytest.mark.integration
OLD = Argon2Parameters(memory_kib=1024, time_cost=1, parallelism=1)
NEW = Argon2Parameters(memory_kib=2048, time_cost=2, parallelism=1)


async def _api(settings: Settings, service: UserService) -> httpx.AsyncClient:
    address = f"127.0.0.1:{service.runtime.bound_port}"
    app = create_app(replace(settings, service_addresses={"user": address}))
    return await open_gateway_client(app)


async def _hash_of(service: UserService, email: str) -> str:
    async with service.infra.database.connect(read_only=True) as connection:
        stored = await connection.scalar(
            sa.select(credentials.c.password_hash)
            .select_from(credentials.join(users))
            .where(users.c.email_normalized == email.lower())
        )
    return str(stored)


@pytest.fixture
async def upgrade(settings: Settings) -> AsyncIterator[tuple[UserService, UserService]]:
    """The same database served first with the old parameters, then with the new ones."""
    services = [bootstrap(settings, argon2=params) for params in (OLD, NEW)]
    for service in services:
        await service.runtime.start()
        await service.infra.nats.wait_ready(10)
    yield services[0], services[1]
    for service in services:
        await service.runtime.stop()


async def test_login_upgrades_a_hash_made_with_older_parameters(settings, upgrade):
    before, after = upgrade
    old_api = await _api(settings, before)
    email = (await IdentityApi(old_api).register())["user"]["email"]
    await old_api.aclose()
    assert "m=1024,t=1,p=1" in await _hash_of(before, email)

    new_api = await _api(settings, after)
    ok(await new_api.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}))
    assert "m=2048,t=2,p=1" in await _hash_of(after, email)
    # The upgraded hash still verifies.
    ok(await new_api.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}))
    await new_api.aclose()
