"""JSON <-> protobuf mapping: names, defaults, enums, timestamps, strict parsing."""

from __future__ import annotations

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from gateway.transcoding import TranscodeError, merge_json, message_to_json
from unpuzzle.common.v1 import events_pb2
from unpuzzle.course.v1 import course_pb2, course_service_pb2


def test_every_field_is_emitted_in_lower_camel_case_with_defaults():
    rendered = message_to_json(course_pb2.Course(id="c1", tags=["a"]))
    assert rendered["id"] == "c1"
    assert rendered["shortDescription"] == ""
    assert rendered["isFree"] is False
    assert rendered["tags"] == ["a"]
    assert rendered["sections"] == []
    assert rendered["instructor"] is None  # unset message -> null
    assert rendered["discountPrice"] is None  # unset optional scalar -> null
    assert rendered["difficulty"] is None  # UNSPECIFIED -> null
    assert rendered["version"] == 0  # int64 as a JSON number


def test_enums_are_lowercase_words_and_timestamps_rfc3339():
    stamp = Timestamp(seconds=1_700_000_000, nanos=123_000_000)
    course = course_pb2.Course(
        status=course_pb2.COURSE_STATUS_PUBLISHED,
        difficulty=course_pb2.DIFFICULTY_ALL,
        published_at=stamp,
    )
    rendered = message_to_json(course)
    assert rendered["status"] == "published"
    assert rendered["difficulty"] == "all"
    assert rendered["publishedAt"] == "2023-11-14T22:13:20.123Z"


def test_nested_messages_and_repeated_messages_render():
    course = course_pb2.Course(
        sections=[course_pb2.SectionOutline(id="s1", lessons=[course_pb2.LessonOutline(id="l1")])]
    )
    rendered = message_to_json(course)
    assert rendered["sections"][0]["lessons"][0] == {
        "id": "l1",
        "title": "",
        "order": 0,
        "durationSeconds": 0,
        "isPreview": False,
    }


def test_parse_accepts_camel_and_proto_names_words_and_nulls():
    request = course_service_pb2.CreateCourseRequest()
    merge_json(
        request,
        {
            "title": "T",
            "short_description": "s",
            "difficulty": "Advanced",
            "tags": ["x"],
            "categoryId": None,
        },
    )
    assert request.title == "T"
    assert request.short_description == "s"
    assert request.difficulty == course_pb2.DIFFICULTY_ADVANCED
    assert list(request.tags) == ["x"]
    assert request.category_id == ""


def test_parse_reports_every_problem_by_path():
    request = course_service_pb2.CreateCourseRequest()
    with pytest.raises(TranscodeError) as raised:
        merge_json(
            request,
            {"title": 3, "tags": ["ok", 4], "difficulty": "hard", "nope": 1, "price": True},
        )
    problems = {v.field: v.description for v in raised.value.violations}
    assert set(problems) == {"title", "tags[1]", "difficulty", "nope", "price"}
    assert problems["nope"] == "unknown field"
    assert "beginner" in problems["difficulty"]


def test_timestamps_need_a_timezone():
    envelope = events_pb2.EventEnvelope()
    with pytest.raises(TranscodeError):
        merge_json(envelope, {"occurredAt": "2026-01-01T10:00:00"})
    merge_json(envelope, {"occurredAt": "2026-01-01T10:00:00Z", "aggregateVersion": "7"})
    assert envelope.occurred_at.seconds == 1_767_261_600
    assert envelope.aggregate_version == 7


def test_integer_ranges_are_enforced():
    outline = course_pb2.LessonOutline()
    with pytest.raises(TranscodeError):
        merge_json(outline, {"order": 2**40})
    with pytest.raises(TranscodeError):
        merge_json(outline, {"order": 1.5})
    merge_json(outline, {"order": 3.0})
    assert outline.order == 3
