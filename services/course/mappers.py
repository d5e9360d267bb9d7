"""The one translation between protobuf messages and the course domain."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from google.protobuf.timestamp_pb2 import Timestamp

from kernel.domain import RaisedEvent
from kernel.outbox import EventPayload
from services.course.domain import events
from services.course.domain.model import CourseDetails, CourseDraft, CourseStatus, Difficulty
from services.course.service_layer.commands import CreateCourse, GetCourse
from unpuzzle.course.v1 import course_events_pb2, course_pb2, course_service_pb2

_STATUS_TO_PROTO = {
    CourseStatus.DRAFT: course_pb2.COURSE_STATUS_DRAFT,
    CourseStatus.PUBLISHED: course_pb2.COURSE_STATUS_PUBLISHED,
    CourseStatus.UNPUBLISHED: course_pb2.COURSE_STATUS_UNPUBLISHED,
    CourseStatus.ARCHIVED: course_pb2.COURSE_STATUS_ARCHIVED,
}
_DIFFICULTY_TO_PROTO = {
    Difficulty.BEGINNER: course_pb2.DIFFICULTY_BEGINNER,
    Difficulty.INTERMEDIATE: course_pb2.DIFFICULTY_INTERMEDIATE,
    Difficulty.ADVANCED: course_pb2.DIFFICULTY_ADVANCED,
    Difficulty.ALL: course_pb2.DIFFICULTY_ALL,
}
_DIFFICULTY_FROM_PROTO = {value: key for key, value in _DIFFICULTY_TO_PROTO.items()}


def _timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _uuid_or_none(value: str) -> UUID | None:
    return UUID(value) if value else None


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def create_course_command(request: course_service_pb2.CreateCourseRequest) -> CreateCourse:
    """CreateCourseRequest (already validated against its field rules) -> command."""
    draft = CourseDraft(
        title=request.title,
        short_description=request.short_description,
        description=request.description,
        thumbnail_url=request.thumbnail_url,
        preview_video_url=request.preview_video_url,
        price=Decimal(request.price or "0"),
        discount_price=(
            Decimal(request.discount_price) if request.HasField("discount_price") else None
        ),
        currency=request.currency or "USD",
        difficulty=_DIFFICULTY_FROM_PROTO.get(request.difficulty),
        language=request.language or "en",
        category_id=_uuid_or_none(request.category_id),
        tags=tuple(request.tags),
        prerequisites=tuple(request.prerequisites),
        learning_outcomes=tuple(request.learning_outcomes),
        target_audience=request.target_audience,
    )
    return CreateCourse(draft=draft)


def get_course_command(request: course_service_pb2.GetCourseRequest) -> GetCourse:
    """GetCourseRequest -> command."""
    return GetCourse(id_or_slug=request.course_id_or_slug.strip())


def course_message(details: CourseDetails) -> course_pb2.Course:
    """The full Course resource."""
    course = details.course
    message = course_pb2.Course(
        id=str(course.id),
        slug=course.slug,
        title=course.title,
        short_description=course.short_description,
        description=course.description,
        thumbnail_url=course.thumbnail_url,
        preview_video_url=course.preview_video_url,
        instructor=course_pb2.InstructorSummary(
            id=str(details.instructor.id),
            display_name=details.instructor.display_name,
            avatar_url=details.instructor.avatar_url,
        ),
        price=_money(course.price),
        currency=course.currency,
        is_free=course.is_free,
        difficulty=(
            _DIFFICULTY_TO_PROTO[course.difficulty]
            if course.difficulty
            else course_pb2.DIFFICULTY_UNSPECIFIED
        ),
        language=course.language,
        tags=course.tags,
        prerequisites=course.prerequisites,
        learning_outcomes=course.learning_outcomes,
        target_audience=course.target_audience,
        status=_STATUS_TO_PROTO[course.status],
        duration_seconds=course.duration_seconds,
        lesson_count=course.lesson_count,
        enrollment_count=course.enrollment_count,
        completion_count=course.completion_count,
        rating_average=course.rating_average,
        rating_count=course.rating_count,
        published_at=_timestamp(course.published_at),
        version=course.version,
        created_at=_timestamp(course.created_at),
        updated_at=_timestamp(course.updated_at),
        created_by=str(course.created_by or ""),
        updated_by=str(course.updated_by or ""),
    )
    if course.discount_price is not None:
        message.discount_price = _money(course.discount_price)
    if details.category is not None:
        message.category.CopyFrom(
            course_pb2.CategorySummary(
                id=str(details.category.id), name=details.category.name, slug=details.category.slug
            )
        )
    return message


def event_payload(raised: RaisedEvent) -> EventPayload:
    """Domain event -> (event type, protobuf payload) for the outbox."""
    event = raised.event
    if isinstance(event, events.CourseCreated):
        return EventPayload(
            "course.created",
            course_events_pb2.CourseCreated(
                course_id=str(event.course_id),
                instructor_id=str(event.instructor_id),
                title=event.title,
                slug=event.slug,
                status=_STATUS_TO_PROTO[CourseStatus(event.status)],
                category_id=str(event.category_id or ""),
            ),
        )
    raise TypeError(f"no event mapping for {type(event).__name__}")
