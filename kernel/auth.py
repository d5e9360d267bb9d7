"""Access tokens as every service verifies them, and the revocation list they are checked against.

Access tokens are JWTs signed by the user service with Ed25519 (`alg: EdDSA`), header `kid`,
claims `iss`, `aud`, `sub` (user id), `sid` (session id), `roles`, `perms` (effective
permissions), `iat`, `exp` (15 minutes) and `jti`. Services verify them with the public keys of
a JWKS file (two keys may be active during a rotation), refuse anything not EdDSA, and then ask
the revocation list, which is fed by the user service's events (logout, session revoke, password
change or reset, suspension, role revoke) so that a revoked token is refused within a second.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kernel.errors import Unauthenticated
from kernel.security import ANONYMOUS, Caller

_log = logging.getLogger(__name__)

ALGORITHMS = ["EdDSA"]
ACCESS_TOKEN_TTL_SECONDS = 15 * 60
CLOCK_SKEW_SECONDS = 30
DEFAULT_ISSUER = "https://auth.unpuzzle.local"
DEFAULT_AUDIENCE = "unpuzzle-api"


class TokenExpired(Unauthenticated):
    """The access token is past its `exp`."""

    reason = "TOKEN_EXPIRED"


class TokenInvalid(Unauthenticated):
    """Signature, algorithm, issuer, audience or shape is wrong."""

    reason = "TOKEN_INVALID"


class TokenRevoked(Unauthenticated):
    """The session or the user's tokens were revoked."""

    reason = "TOKEN_REVOKED"


@dataclass(frozen=True)
class AccessClaims:
    """The verified content of an access token."""

    user_id: UUID
    session_id: UUID
    roles: frozenset[str]
    permissions: frozenset[str]
    issued_at: float
    expires_at: float
    token_id: str

    def caller(self) -> Caller:
        """The security context handlers see."""
        return Caller(
            user_id=self.user_id,
            session_id=self.session_id,
            roles=self.roles,
            permissions=self.permissions,
            token_id=self.token_id,
        )


def load_public_keys(path: Path) -> dict[str, Ed25519PublicKey]:
    """Public keys by kid from a JWKS file (`{"keys": [{"kty": "OKP", "crv": "Ed25519", ...}]}`)."""
    document = json.loads(path.read_text())
    keys: dict[str, Ed25519PublicKey] = {}
    for entry in document.get("keys", []):
        if entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519" or "kid" not in entry:
            continue
        key = jwt.algorithms.OKPAlgorithm.from_jwk(json.dumps(entry))
        if isinstance(key, Ed25519PublicKey):
            keys[entry["kid"]] = key
    if not keys:
        raise ValueError(f"{path} holds no Ed25519 public keys")
    return keys


class TokenVerifier:
    """Checks signature, algorithm, issuer, audience, expiry and shape; caches good tokens."""

    def __init__(
        self,
        keys: Mapping[str, Ed25519PublicKey],
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
        cache_size: int = 10_000,
    ) -> None:
        self._keys = dict(keys)
        self._issuer = issuer
        self._audience = audience
        self._cache: OrderedDict[str, AccessClaims] = OrderedDict()
        self._cache_size = cache_size

    def verify(self, token: str) -> AccessClaims:
        """The claims of a valid token; TokenExpired or TokenInvalid otherwise."""
        cached = self._cache.get(token)
        if cached is not None:
            if cached.expires_at + CLOCK_SKEW_SECONDS < time.time():
                del self._cache[token]
                raise TokenExpired("The access token has expired; refresh it")
            self._cache.move_to_end(token)
            return cached
        claims = self._decode(token)
        self._cache[token] = claims
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return claims

    def _decode(self, token: str) -> AccessClaims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise TokenInvalid("The access token is malformed") from None
        if header.get("alg") not in ALGORITHMS:
            raise TokenInvalid("The access token uses a refused algorithm")
        key = self._keys.get(str(header.get("kid", "")))
        if key is None:
            raise TokenInvalid("The access token was signed with an unknown key")
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iat", "sub", "sid", "jti", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired("The access token has expired; refresh it") from None
        except jwt.InvalidTokenError:
            raise TokenInvalid("The access token is invalid") from None
        try:
            return AccessClaims(
                user_id=UUID(payload["sub"]),
                session_id=UUID(payload["sid"]),
                roles=frozenset(payload.get("roles", [])),
                permissions=frozenset(payload.get("perms", [])),
                issued_at=float(payload["iat"]),
                expires_at=float(payload["exp"]),
                token_id=str(payload["jti"]),
            )
        except (ValueError, TypeError):
            raise TokenInvalid("The access token has malformed claims") from None


class RevocationStore(Protocol):
    """Where revocations are kept: in process, or in Redis shared by every replica."""

    async def revoke_session(self, session_id: str) -> None:
        """Refuse every token of this session."""
        ...

    async def revoke_user_before(self, user_id: str, moment: float) -> None:
        """Refuse this user's tokens issued before `moment` (epoch seconds)."""
        ...

    async def is_revoked(self, claims: AccessClaims) -> bool:
        """True when the token's session or user was revoked."""
        ...


class MemoryRevocationStore:
    """Revocations in a dict; entries live as long as the tokens they refuse."""

    def __init__(
        self, ttl_seconds: float = ACCESS_TOKEN_TTL_SECONDS + 2 * CLOCK_SKEW_SECONDS
    ) -> None:
        self._ttl = ttl_seconds
        self._sessions: dict[str, float] = {}
        self._users: dict[str, tuple[float, float]] = {}  # user -> (revoked before, expires)

    async def revoke_session(self, session_id: str) -> None:
        """Refuse every token of this session."""
        self._sessions[session_id] = time.time() + self._ttl
        self._expire()

    async def revoke_user_before(self, user_id: str, moment: float) -> None:
        """Refuse this user's tokens issued before `moment`."""
        previous = self._users.get(user_id, (0.0, 0.0))[0]
        self._users[user_id] = (max(previous, moment), time.time() + self._ttl)
        self._expire()

    async def is_revoked(self, claims: AccessClaims) -> bool:
        """True when the session or the user was revoked."""
        if str(claims.session_id) in self._sessions:
            return True
        user = self._users.get(str(claims.user_id))
        return user is not None and claims.issued_at < user[0]

    def _expire(self) -> None:
        now = time.time()
        for session, until in list(self._sessions.items()):
            if until < now:
                del self._sessions[session]
        for user, (_, until) in list(self._users.items()):
            if until < now:
                del self._users[user]


_KEEP_LATEST = """
local current = redis.call('GET', KEYS[1])
if (not current) or tonumber(current) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
end
return 1
"""


class RedisRevocationStore:
    """Revocations as Redis keys with a TTL, shared by every replica of every service."""

    def __init__(self, redis: Any, ttl_seconds: int = ACCESS_TOKEN_TTL_SECONDS + 60) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    async def revoke_session(self, session_id: str) -> None:
        """Refuse every token of this session."""
        await self._redis.set(f"unpuzzle:revoked:session:{session_id}", "1", ex=self._ttl)

    async def revoke_user_before(self, user_id: str, moment: float) -> None:
        """Refuse this user's tokens issued before `moment` (the latest moment wins)."""
        # Atomic in Redis: every replica applies the same events, and a read-then-write from
        # two of them could put an older moment over a newer one.
        await self._redis.eval(
            _KEEP_LATEST, 1, f"unpuzzle:revoked:user:{user_id}", repr(moment), self._ttl
        )

    async def is_revoked(self, claims: AccessClaims) -> bool:
        """One round trip for both checks."""
        session, user = await self._redis.mget(
            f"unpuzzle:revoked:session:{claims.session_id}",
            f"unpuzzle:revoked:user:{claims.user_id}",
        )
        return session is not None or (user is not None and claims.issued_at < float(user))


class JwtAuthenticator:
    """The Authenticator every service installs: Bearer token -> Caller."""

    def __init__(self, verifier: TokenVerifier, revocations: RevocationStore) -> None:
        self._verifier = verifier
        self._revocations = revocations

    async def authenticate(self, metadata: Mapping[str, str]) -> Caller:
        """Anonymous without a token; UNAUTHENTICATED (with a precise reason) for a bad one."""
        header = metadata.get("authorization")
        if not header:
            return ANONYMOUS
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenInvalid("Send the access token as `Authorization: Bearer <token>`")
        claims = self._verifier.verify(token.strip())
        if await self._revocations.is_revoked(claims):
            raise TokenRevoked("The session has ended; sign in again")
        return claims.caller()
