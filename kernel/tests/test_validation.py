"""Field rules declared in the protos are enforced by kernel.validation."""

from __future__ import annotations

import pytest

from kernel.errors import ValidationFailed
from kernel.validation import validate
from unpuzzle.course.v1 import course_service_pb2


def _violations(message) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as raised:
        validate(message)
    return {v.field: v.description for v in raised.value.violations}


def test_valid_request_passes():
    validate(course_service_pb2.CreateCourseRequest(title="Rust", price="19.99", currency="EUR"))


def test_every_broken_rule_is_reported():
    problems = _violations(
        course_service_pb2.CreateCourseRequest(
            title="   ",
            price="1.999",
            currency="eur",
            category_id="not-a-uuid",
            thumbnail_url="ftp://x",
            tags=["ok", "x" * 41],
        )
    )
    assert problems == {
        "title": "must not be empty",
        "price": 'must be a non-negative decimal string such as "19.99"',
        "currency": "must be an ISO 4217 code such as USD",
        "categoryId": "must be a UUID",
        "thumbnailUrl": "must be an http(s) URL",
        "tags[1]": "must be at most 40 characters",
    }


def test_list_length_and_optional_fields():
    problems = _violations(
        course_service_pb2.CreateCourseRequest(
            title="x", tags=[f"t{i}" for i in range(21)], discount_price="x"
        )
    )
    assert problems == {
        "tags": "must have at most 20 items",
        "discountPrice": 'must be a non-negative decimal string such as "19.99"',
    }
