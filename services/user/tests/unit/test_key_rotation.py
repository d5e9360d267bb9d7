"""Signing-key rotation: two keys active at once, then the old one retired."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import jwt
import pytest

from kernel.auth import TokenVerifier, load_public_keys
from kernel.errors import Unauthenticated
from kernel.jwt_keys import JWKS_FILE, generate_key, load_private_keys, write_jwks
from services.user.adapters.tokens import JwtIssuer

ISSUER, AUDIENCE = "https://auth.test", "unpuzzle-api"


def _issuer(directory: Path, active_kid: str | None = None) -> JwtIssuer:
    return JwtIssuer(
        load_private_keys(directory), issuer=ISSUER, audience=AUDIENCE, active_kid=active_kid
    )


def _token(issuer: JwtIssuer) -> str:
    return issuer.issue(
        user_id=uuid.uuid4(), session_id=uuid.uuid4(), roles=["student"], permissions=[]
    ).token


def _verifier(directory: Path) -> TokenVerifier:
    return TokenVerifier(load_public_keys(directory / JWKS_FILE), issuer=ISSUER, audience=AUDIENCE)


def test_tokens_of_the_old_key_verify_while_both_keys_are_published(tmp_path: Path):
    old = generate_key(tmp_path)
    old_token = _token(_issuer(tmp_path))
    time.sleep(0.001)  # kids are named by creation time
    new = generate_key(tmp_path)

    # Stage 1: the new key is published but not yet used (JWT_ACTIVE_KID pins the old one).
    pinned = _issuer(tmp_path, active_kid=old)
    assert jwt.get_unverified_header(_token(pinned))["kid"] == old
    # Stage 2: the newest key signs; tokens of both keys verify.
    rotated = _issuer(tmp_path)
    new_token = _token(rotated)
    assert jwt.get_unverified_header(new_token)["kid"] == new
    verifier = _verifier(tmp_path)
    assert verifier.verify(old_token).roles == frozenset({"student"})
    assert verifier.verify(new_token).roles == frozenset({"student"})

    # Stage 3, after the access-token lifetime: the old key is retired and its tokens refused.
    (tmp_path / f"{old}.pem").unlink()
    write_jwks(tmp_path)
    retired = _verifier(tmp_path)
    with pytest.raises(Unauthenticated):
        retired.verify(old_token)
    assert retired.verify(new_token).roles == frozenset({"student"})


def test_an_unknown_active_kid_is_refused_at_start_up(tmp_path: Path):
    generate_key(tmp_path)
    with pytest.raises(ValueError, match="JWT_ACTIVE_KID"):
        _issuer(tmp_path, active_kid="k-missing")
