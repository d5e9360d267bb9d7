"""Access tokens for tests, signed like the user service signs them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jwt

from kernel.jwt_keys import load_private_keys
from kernel.settings import Settings

INSTRUCTOR_PERMISSIONS = ("course:create", "course:update", "course:publish", "course:delete")


@dataclass
class TokenFactory:
    """Mint access tokens for any user, role set and lifetime."""

    settings: Settings

    def token(
        self,
        user_id: uuid.UUID | None = None,
        *,
        roles: Iterable[str] = ("student",),
        permissions: Iterable[str] = (),
        session_id: uuid.UUID | None = None,
        ttl: float = 900,
        issued_at: float | None = None,
        audience: str | None = None,
    ) -> str:
        """A signed access token (the newest key of the settings' key directory)."""
        kid, key = list(load_private_keys(Path(self.settings.signing_keys_dir)).items())[-1]
        now = issued_at if issued_at is not None else time.time()
        claims = {
            "iss": self.settings.jwt_issuer,
            "aud": audience or self.settings.jwt_audience,
            "sub": str(user_id or uuid.uuid4()),
            "sid": str(session_id or uuid.uuid4()),
            "roles": list(roles),
            "perms": list(permissions),
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})

    def instructor(self, user_id: uuid.UUID | None = None) -> dict[str, str]:
        """Authorization header of an instructor."""
        token = self.token(user_id, roles=("instructor",), permissions=INSTRUCTOR_PERMISSIONS)
        return {"authorization": f"Bearer {token}"}

    @staticmethod
    def metadata(headers: dict[str, str]) -> list[tuple[str, str]]:
        """The same credentials as gRPC metadata."""
        return list(headers.items())

    def student(self, user_id: uuid.UUID | None = None) -> dict[str, str]:
        """Authorization header of a student."""
        return {"authorization": f"Bearer {self.token(user_id)}"}

    def admin(self, user_id: uuid.UUID | None = None) -> dict[str, str]:
        """Authorization header of an admin holding every permission we use."""
        token = self.token(
            user_id, roles=("admin",), permissions=(*INSTRUCTOR_PERMISSIONS, "user:manage_roles")
        )
        return {"authorization": f"Bearer {token}"}
