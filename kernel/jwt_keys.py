"""Signing-key files: Ed25519 private keys as `<kid>.pem`, public keys as a JWKS document.

The user service signs with the newest private key (or JWT_ACTIVE_KID); every service verifies
with the JWKS, which lists every key still accepted, so keys rotate without refusing live tokens.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

JWKS_FILE = "jwks.json"


def load_private_keys(directory: Path) -> dict[str, Ed25519PrivateKey]:
    """Private keys by kid (the file stem), in the order of their names (oldest first)."""
    keys: dict[str, Ed25519PrivateKey] = {}
    for path in sorted(directory.glob("*.pem")):
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if isinstance(key, Ed25519PrivateKey):
            keys[path.stem] = key
    return keys


def public_jwks(keys: dict[str, Ed25519PrivateKey]) -> dict[str, list[dict[str, str]]]:
    """The JWKS document for these keys (public parts only)."""
    entries = []
    for kid, key in keys.items():
        entry = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
        entry.update({"kid": kid, "alg": "EdDSA", "use": "sig"})
        entries.append(entry)
    return {"keys": entries}


def generate_key(directory: Path) -> str:
    """Create a new private key named by its creation time and rewrite the JWKS; returns its kid."""
    directory.mkdir(parents=True, exist_ok=True)
    kid = datetime.now(UTC).strftime("k%Y%m%dT%H%M%S%f")
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = directory / f"{kid}.pem"
    path.write_bytes(pem)
    path.chmod(0o600)
    write_jwks(directory)
    return kid


def write_jwks(directory: Path) -> Path:
    """Write `jwks.json` next to the private keys."""
    target = directory / JWKS_FILE
    target.write_text(json.dumps(public_jwks(load_private_keys(directory)), indent=2))
    return target


def ensure_dev_keys(directory: Path) -> None:
    """Embedded default: make sure one signing key and its JWKS exist."""
    if not directory.exists() or not load_private_keys(directory):
        generate_key(directory)
    elif not (directory / JWKS_FILE).exists():
        write_jwks(directory)
