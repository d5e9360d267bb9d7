"""Argon2id password hashing on a dedicated thread pool, and the bundled common-password list."""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

T = TypeVar("T")
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


@dataclass(frozen=True)
class Argon2Parameters:
    """Cost of one hash; the defaults are OWASP's minimum for argon2id (19 MiB, t=2, p=1)."""

    memory_kib: int = 19 * 1024
    time_cost: int = 2
    parallelism: int = 1


OWASP_MINIMUM = Argon2Parameters()


class Argon2PasswordHasher:
    """Hashes and verifies on its own threads: argon2 releases the GIL, the event loop stays free.

    The pool is bounded (one thread per core by default) so that a burst of logins queues
    instead of taking every core and `memory_kib` per concurrent hash.
    """

    def __init__(
        self, parameters: Argon2Parameters = OWASP_MINIMUM, *, max_workers: int | None = None
    ) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=parameters.time_cost,
            memory_cost=parameters.memory_kib,
            parallelism=parameters.parallelism,
            hash_len=32,
            salt_len=16,
            type=argon2.Type.ID,
        )
        self._executor = ThreadPoolExecutor(
            max_workers=max_workers or os.cpu_count() or 2, thread_name_prefix="argon2"
        )
        self._dummy_hash: str | None = None

    async def _off_loop(self, function: Callable[..., T], *args: str) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(function, *args))

    async def warm_up(self) -> None:
        """Compute the dummy hash now, so that the first unknown-email login is not slower."""
        await self._off_loop(self._dummy)

    async def hash(self, password: str) -> str:
        """A new argon2id hash with the current parameters."""
        return await self._off_loop(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when the password matches; without a hash, verify against a dummy (False)."""
        if password_hash is None:
            await self._off_loop(self._verify_dummy, password)
            return False
        return await self._off_loop(self._verify, password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash's parameters differ from the current ones."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def close(self) -> None:
        """Stop the worker threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _dummy(self) -> str:
        # Two threads computing it at once is harmless: either hash serves.
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    def _verify_dummy(self, password: str) -> None:
        self._verify(self._dummy(), password)


def load_common_passwords(path: Path = COMMON_PASSWORDS_FILE) -> frozenset[str]:
    """The bundled list: one lowercase password a line, `#` comments."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))
