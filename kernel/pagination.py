"""Keyset pagination with opaque, signed page tokens bound to the filter they were issued for.

A token carries the sort key of the last item of the page and a digest of the query's filter and
order. It is HMAC-signed, so a tampered token, or a token replayed with another filter, is refused
with 400 INVALID_PAGE_TOKEN instead of silently returning the wrong page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from kernel.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class InvalidPageToken(InvalidArgument):
    """The page token was tampered with, expired, or belongs to another filter."""

    reason = "INVALID_PAGE_TOKEN"

    def __init__(self) -> None:
        super().__init__("Invalid page token: request the first page again")


def clamp_page_size(requested: int) -> int:
    """Default 20 when unset, clamped to 1..100 (larger values are clamped, not refused)."""
    if requested <= 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)


def filter_digest(filters: Mapping[str, Any]) -> str:
    """Stable short digest of a filter + order description."""
    canonical = orjson.dumps(dict(filters), option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(canonical).hexdigest()[:16]


@dataclass(frozen=True)
class PageTokenCodec:
    """Encodes and verifies page tokens with one secret (PAGE_TOKEN_SECRET)."""

    secret: bytes

    def encode(self, last_key: Sequence[Any], filters: Mapping[str, Any]) -> str:
        """A token resuming after `last_key` for exactly these filters."""
        body = orjson.dumps({"k": list(last_key), "f": filter_digest(filters)}, default=str)
        signature = hmac.new(self.secret, body, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(signature + body).decode().rstrip("=")

    def decode(self, token: str, filters: Mapping[str, Any]) -> list[Any] | None:
        """The last key of the previous page, None for an empty token; InvalidPageToken if bad."""
        if not token:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except ValueError:
            raise InvalidPageToken() from None
        signature, body = raw[:16], raw[16:]
        expected = hmac.new(self.secret, body, hashlib.sha256).digest()[:16]
        if len(signature) != 16 or not hmac.compare_digest(signature, expected):
            raise InvalidPageToken()
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise InvalidPageToken() from None
        if payload.get("f") != filter_digest(filters) or not isinstance(payload.get("k"), list):
            raise InvalidPageToken()
        return list(payload["k"])
