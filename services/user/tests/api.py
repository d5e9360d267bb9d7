"""A small REST client of the identity routes for tests (through the gateway)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from kernel.settings import Settings

PASSWORD = "correct-horse-battery-staple"


def unique_email(prefix: str = "user") -> str:
    """An email no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.test"


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for an access token."""
    return {"authorization": f"Bearer {token}"}


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The envelope's data, after checking the status and `ok`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is True, body
    return body["data"]


def failed(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The envelope's error, after checking the status and the stable code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False, body
    assert body["error"]["code"] == code, body
    error: dict[str, Any] = body["error"]
    return error


class IdentityApi:
    """Register, sign in and act as users of various roles."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def register(
        self, email: str | None = None, password: str = PASSWORD, full_name: str = "Ada Lovelace"
    ) -> dict[str, Any]:
        """Register and return `{user, accessToken, refreshToken, ...}`."""
        response = await self.client.post(
            "/api/v1/auth/register",
            json={"email": email or unique_email(), "password": password, "fullName": full_name},
        )
        data: dict[str, Any] = ok(response, 201)
        return data

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        """Sign in and return `{user, accessToken, refreshToken, ...}`."""
        response = await self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        data: dict[str, Any] = ok(response)
        return data

    async def admin(self, settings: Settings) -> dict[str, Any]:
        """Sign in as the super admin seeded at start-up."""
        return await self.login(settings.admin_email, settings.admin_password)

    async def with_role(self, admin_token: str, role: str) -> dict[str, Any]:
        """A new account (a student) granted `role` by the admin, signed in to carry it."""
        registered = await self.register(full_name=f"A {role}")
        if role != "student":
            granted = await self.client.post(
                f"/api/v1/users/{registered['user']['id']}/roles",
                json={"role": role},
                headers=bearer(admin_token),
            )
            ok(granted)
        signed_in = await self.login(registered["user"]["email"])
        assert role in signed_in["user"]["roles"]
        return signed_in
