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


def test_nested_messages_are_validated_with_their_path():
    from google.protobuf.timestamp_pb2 import Timestamp

    from unpuzzle.analytics.v1 import analytics_service_pb2 as pb

    good = pb.HeartbeatItem(
        lesson_id="0b9f3c7e-8a47-4f6e-9f61-1d6a8f0c2a11",
        watched_seconds=5,
        sent_at=Timestamp(seconds=1),
    )
    bad = pb.HeartbeatItem(lesson_id="x", watched_seconds=-1)
    problems = _violations(pb.RecordHeartbeatsRequest(heartbeats=[good, bad]))
    assert problems == {
        "heartbeats[1].lessonId": "must be a UUID",
        "heartbeats[1].watchedSeconds": "must be at least 0",
        "heartbeats[1].sentAt": "is required",
    }
