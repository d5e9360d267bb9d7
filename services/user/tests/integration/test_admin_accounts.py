"""Administrators made outside the API: the start-up seed and `create-admin`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernel.settings import Settings
from services.user.bootstrap import UserService
from services.user.service_layer.seeding import AdminOutcome, seed_super_admin
from services.user.tests.api import IdentityApi, bearer, ok

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[4]


def _create_admin(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(
        UNPUZZLE_RUN_DIR=str(settings.run_dir),
        JWT_KEYS_DIR=str(settings.signing_keys_dir),
        LOG_JSON="false",
    )
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    return subprocess.run(
        [sys.executable, "-m", "services.user", "create-admin", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_create_admin_cli_makes_an_admin_who_can_sign_in(api, settings):
    email = "ops@example.test"
    weak = await asyncio.to_thread(_create_admin, settings, "--email", email, "--password", "short")
    assert weak.returncode == 1
    assert "must be at least 10 characters" in weak.stderr
    made = await asyncio.to_thread(
        _create_admin,
        settings,
        "--email",
        email,
        "--password",
        "ops passphrase 1",
        "--role",
        "admin",
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("created: ops@example.test")
    signed_in = await IdentityApi(api).login(email, "ops passphrase 1")
    assert signed_in["user"]["roles"] == ["admin"]
    users = ok(await api.get("/api/v1/users", headers=bearer(signed_in["accessToken"])))
    assert email in [user["email"] for user in users]


async def test_the_super_admin_is_seeded_once(user_service: UserService, settings):
    again = await seed_super_admin(
        settings.admin_email, settings.admin_password, user_service.uow(), user_service.deps
    )
    assert again is AdminOutcome.SUPER_ADMIN_EXISTS
    async with user_service.uow() as uow:
        admins = await uow.users.active_super_admins()
        root = await uow.users.get_by_email(settings.admin_email)
    assert root is not None
    assert admins == {root.id}
