"""The protobuf boundary: update masks, ETags, and every domain event's outbox payload."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from kernel.domain import DomainEvent, RaisedEvent
from kernel.errors import ValidationFailed
from services.course import mappers
from services.course.domain import events
from services.course.domain.errors import VersionConflict
from services.course.domain.model import KEEP, Course, CourseDraft
from unpuzzle.course.v1 import course_events_pb2
from unpuzzle.course.v1 import course_service_pb2 as api

COURSE_ID = str(uuid4())


def test_mask_paths_may_be_camel_or_snake_case_and_version_is_ignored():
    request = api.UpdateCourseRequest(
        course_id=COURSE_ID,
        title="New",
        update_mask=FieldMask(paths=["title", "discountPrice", "learning_outcomes", "version"]),
    )
    command = mappers.update_course_command(request, None)
    changes = command.changes
    assert (changes.title, changes.discount_price, changes.learning_outcomes) == ("New", None, ())
    assert changes.description is KEEP


def test_without_a_mask_the_present_fields_change():
    request = api.UpdateCourseRequest(course_id=COURSE_ID, price="12.50", tags=["go"])
    changes = mappers.update_course_command(request, None).changes
    assert (changes.price, changes.tags) == (Decimal("12.50"), ("go",))
    assert changes.title is KEEP
    assert changes.prerequisites is KEEP


def test_unknown_or_fixed_mask_paths_are_rejected():
    request = api.UpdateCourseRequest(
        course_id=COURSE_ID, update_mask=FieldMask(paths=["courseId", "status"])
    )
    with pytest.raises(ValidationFailed) as raised:
        mappers.update_course_command(request, None)
    assert [v.description for v in raised.value.violations] == [
        "courseId cannot be updated",
        "status cannot be updated",
    ]


@pytest.mark.parametrize(
    ("body", "header", "expected"),
    [(0, None, None), (3, None, 3), (0, '"3"', 3), (0, 'W/"4"', 4), (0, "5", 5), (2, "*", 2)],
)
def test_expected_version_comes_from_the_body_or_if_match(body, header, expected):
    assert mappers.expected_version(body, header) == expected


def test_malformed_or_disagreeing_versions_fail():
    with pytest.raises(ValidationFailed):
        mappers.expected_version(0, '"abc"')
    with pytest.raises(VersionConflict):
        mappers.expected_version(3, '"4"')


def _sample(event_class: type[DomainEvent]) -> DomainEvent:
    """An instance of any event class, fields filled by type."""
    course = Course.create(
        CourseDraft(title="T", price=Decimal("5")), instructor_id=uuid4(), slug="t"
    )
    samples = {
        "course": course.facts(),
        "lesson": events.LessonFacts(uuid4(), uuid4(), 1, 60, False),
        "lessons": (events.LessonFacts(uuid4(), uuid4(), 1, 60, False),),
        "totals": (
            events.RatingTotals(4.5, 2)
            if event_class.__name__.startswith("Review")
            else events.OutlineTotals(1, 60)
        ),
        "changed_fields": ("title",),
        "published_at": datetime.now(UTC),
        "price": Decimal("5"),
        "status": "active" if "Enrollment" in event_class.__name__ else "draft",
        "previous_status": "active",
    }
    values: dict[str, Any] = {}
    for name, parameter in inspect.signature(event_class).parameters.items():
        if name in {"event_id", "occurred_at"} or parameter.default is not parameter.empty:
            continue
        annotation = str(parameter.annotation)
        if name in samples:
            values[name] = samples[name]
        elif "UUID" in annotation:
            values[name] = uuid4()
        elif annotation == "int":
            values[name] = 3
        elif annotation == "bool":
            values[name] = True
        else:
            values[name] = "x"
    return event_class(**values)


EVENT_CLASSES = [
    cls
    for cls in vars(events).values()
    if inspect.isclass(cls) and issubclass(cls, DomainEvent) and cls is not DomainEvent
]


@pytest.mark.parametrize("event_class", EVENT_CLASSES, ids=lambda c: c.__name__)
def test_every_domain_event_has_an_outbox_payload(event_class):
    event = _sample(event_class)
    payload = mappers.event_payload(RaisedEvent(event, "course", str(uuid4()), 1))
    aggregate, _, verb = payload.event_type.partition(".")
    assert aggregate in {"course", "lesson", "enrollment", "review", "quiz"}
    assert verb
    assert payload.message.DESCRIPTOR.file is course_events_pb2.DESCRIPTOR
    assert payload.message.ByteSize() > 0


def test_published_event_carries_the_outline():
    event = _sample(events.CoursePublished)
    message = mappers.event_payload(RaisedEvent(event, "course", "id", 2)).message
    assert isinstance(message, course_events_pb2.CoursePublished)
    assert (message.lesson_count, message.duration_seconds, len(message.lessons)) == (1, 60, 1)
    assert message.price == "5.00"
    assert not message.is_free
