"""Access-token signing (EdDSA, the format `kernel.auth` verifies) and the published JWKS."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from uuid import UUID

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kernel.auth import ACCESS_TOKEN_TTL_SECONDS
from kernel.jwt_keys import load_private_keys
from kernel.settings import Settings
from services.user.service_layer.ports import AccessToken

# Only these members of a JWKS entry are published (never a private "d", whatever the file holds).
PUBLIC_JWK_FIELDS = ("kty", "crv", "x", "kid", "alg", "use")


class JwtIssuer:
    """Signs with the active key: JWT_ACTIVE_KID, else the newest key of the key directory."""

    def __init__(
        self,
        keys: dict[str, Ed25519PrivateKey],
        *,
        issuer: str,
        audience: str,
        active_kid: str | None = None,
        ttl_seconds: int = ACCESS_TOKEN_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not keys:
            raise ValueError("no Ed25519 signing key: the user service cannot issue tokens")
        self.kid = active_kid or list(keys)[-1]
        if self.kid not in keys:
            raise ValueError(f"JWT_ACTIVE_KID {self.kid!r} is not among the signing keys")
        self._key = keys[self.kid]
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl_seconds
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> JwtIssuer:
        """The issuer for the configured key directory, issuer, audience and active key."""
        return cls(
            load_private_keys(settings.signing_keys_dir),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            active_kid=settings.jwt_active_kid,
        )

    def issue(
        self,
        *,
        user_id: UUID,
        session_id: UUID,
        roles: Iterable[str],
        permissions: Iterable[str],
    ) -> AccessToken:
        """A signed access token with the claims of `kernel.auth`."""
        # Sub-second `iat`: revoke_user_before(moment) must not refuse a token issued just after.
        now = self._clock()
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(user_id),
            "sid": str(session_id),
            "roles": sorted(roles),
            "perms": sorted(permissions),
            "iat": now,
            "exp": now + self._ttl,
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self.kid})
        return AccessToken(token=token, expires_in=self._ttl)


def load_jwks(path: Path) -> list[dict[str, str]]:
    """The public keys every service verifies with (the JWKS file), public members only."""
    document = json.loads(path.read_text())
    return [
        {name: str(entry[name]) for name in PUBLIC_JWK_FIELDS if name in entry}
        for entry in document.get("keys", [])
    ]
