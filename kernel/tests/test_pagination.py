"""Signed page tokens: round trip, tampering, filter binding, page size clamping."""

from __future__ import annotations

import pytest

from kernel.pagination import InvalidPageToken, PageTokenCodec, clamp_page_size

CODEC = PageTokenCodec(b"secret")


def test_round_trip_for_the_same_filter():
    token = CODEC.encode(["2026-01-01T00:00:00Z", "id-9"], {"q": "rust", "order": "newest"})
    assert CODEC.decode(token, {"order": "newest", "q": "rust"}) == ["2026-01-01T00:00:00Z", "id-9"]
    assert CODEC.decode("", {"q": "rust"}) is None


@pytest.mark.parametrize(
    "mutate",
    [lambda t: t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1], lambda t: "x" + t, lambda t: "!!!"],
)
def test_tampered_tokens_are_refused(mutate):
    token = CODEC.encode([1], {"q": "a"})
    with pytest.raises(InvalidPageToken):
        CODEC.decode(mutate(token), {"q": "a"})


def test_token_is_bound_to_its_filter_and_secret():
    token = CODEC.encode([1], {"q": "a"})
    with pytest.raises(InvalidPageToken):
        CODEC.decode(token, {"q": "b"})
    with pytest.raises(InvalidPageToken):
        PageTokenCodec(b"other").decode(token, {"q": "a"})


def test_page_size_defaults_and_clamps():
    assert clamp_page_size(0) == 20
    assert clamp_page_size(5) == 5
    assert clamp_page_size(1000) == 100
