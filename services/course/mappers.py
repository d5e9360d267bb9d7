"""The one translation between protobuf messages and the course domain.

Requests become commands (field masks and ETags resolved here), domain objects become resource
messages, and domain events become the event messages of course_events.proto.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar
from uuid import UUID

from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from kernel.domain import RaisedEvent
from kernel.errors import FieldViolation, ValidationFailed
from kernel.outbox import EventPayload
from kernel.pagination import PageTokenCodec, clamp_page_size
from services.course.domain import events
from services.course.domain.errors import VersionConflict
from services.course.domain.model import (
    KEEP,
    Category,
    CategoryChanges,
    CategoryNode,
    Change,
    CourseCard,
    CourseChanges,
    CourseDetails,
    CourseDraft,
    CourseStatus,
    Difficulty,
    Enrollment,
    EnrollmentStatus,
    LessonChanges,
    LessonDraft,
    LessonResource,
    LessonView,
    QuizAttempt,
    QuizQuestion,
    QuizQuestionChanges,
    Review,
    SectionView,
    ViewerState,
)
from services.course.service_layer import commands
from services.course.service_layer.unit_of_work import Page
from unpuzzle.analytics.v1 import analytics_events_pb2
from unpuzzle.common.v1 import events_pb2, pagination_pb2
from unpuzzle.course.v1 import course_events_pb2, course_pb2
from unpuzzle.course.v1 import course_service_pb2 as api
from unpuzzle.user.v1 import user_events_pb2

T = TypeVar("T")
_WORD = re.compile(r"\w+")
_ETAG = re.compile(r'^(?:W/)?"?(\d+)"?$')
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")

_STATUS_TO_PROTO = {
    CourseStatus.DRAFT: course_pb2.COURSE_STATUS_DRAFT,
    CourseStatus.PUBLISHED: course_pb2.COURSE_STATUS_PUBLISHED,
    CourseStatus.UNPUBLISHED: course_pb2.COURSE_STATUS_UNPUBLISHED,
    CourseStatus.ARCHIVED: course_pb2.COURSE_STATUS_ARCHIVED,
}
_STATUS_FROM_PROTO = {value: key for key, value in _STATUS_TO_PROTO.items()}
_DIFFICULTY_TO_PROTO = {
    Difficulty.BEGINNER: course_pb2.DIFFICULTY_BEGINNER,
    Difficulty.INTERMEDIATE: course_pb2.DIFFICULTY_INTERMEDIATE,
    Difficulty.ADVANCED: course_pb2.DIFFICULTY_ADVANCED,
    Difficulty.ALL: course_pb2.DIFFICULTY_ALL,
}
_DIFFICULTY_FROM_PROTO = {value: key for key, value in _DIFFICULTY_TO_PROTO.items()}
_ENROLLMENT_TO_PROTO = {
    EnrollmentStatus.PENDING_PAYMENT: course_pb2.ENROLLMENT_STATUS_PENDING_PAYMENT,
    EnrollmentStatus.ACTIVE: course_pb2.ENROLLMENT_STATUS_ACTIVE,
    EnrollmentStatus.COMPLETED: course_pb2.ENROLLMENT_STATUS_COMPLETED,
    EnrollmentStatus.CANCELLED: course_pb2.ENROLLMENT_STATUS_CANCELLED,
}
_ENROLLMENT_FROM_PROTO = {value: key for key, value in _ENROLLMENT_TO_PROTO.items()}


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


def _str(value: UUID | None) -> str:
    return "" if value is None else str(value)


def _difficulty(value: Difficulty | None) -> course_pb2.Difficulty.ValueType:
    return course_pb2.DIFFICULTY_UNSPECIFIED if value is None else _DIFFICULTY_TO_PROTO[value]


def _enrollment_status(value: str) -> course_pb2.EnrollmentStatus.ValueType:
    return _ENROLLMENT_TO_PROTO[EnrollmentStatus(value)]


# ----------------------------------------------------------------------------- requests


def update_fields(request: Message, mask: FieldMask, *, fixed: tuple[str, ...]) -> set[str]:
    """Names of the fields an update request changes.

    The `update_mask` paths (lowerCamelCase or snake_case), or without a mask the optional
    fields that are set and the lists that are not empty. `fixed` names the identifying fields
    (from the path), which cannot be updated; `version` in a mask is ignored.
    """
    descriptor = request.DESCRIPTOR
    updatable = {
        f.name: f
        for f in descriptor.fields
        if f.name not in fixed and f.name not in {"version", "update_mask"}
    }
    paths = list(mask.paths)
    if not paths:
        return {
            name
            for name, f in updatable.items()
            if (f.is_repeated and len(getattr(request, name)))
            or (not f.is_repeated and f.has_presence and request.HasField(name))
        }
    names: set[str] = set()
    violations = []
    for path in paths:
        name = _CAMEL.sub("_", path).lower()
        if name == "version":
            continue
        if name not in updatable:
            violations.append(FieldViolation("updateMask", f"{path} cannot be updated"))
        else:
            names.add(name)
    if violations:
        raise ValidationFailed(violations)
    return names


def _change(
    request: Message, name: str, names: set[str], convert: Callable[[Any], T] | None = None
) -> Change[T]:
    if name not in names:
        return KEEP
    value = getattr(request, name)
    return convert(value) if convert is not None else value


def expected_version(version: int, if_match: str | None) -> int | None:
    """The version a write is conditional on: the body's `version`, the `If-Match` ETag
    (`"3"`, `W/"3"` or `3`; `*` means any), or None. Both, disagreeing: one is stale."""
    from_header = None
    if if_match and if_match.strip() != "*":
        found = _ETAG.match(if_match.strip())
        if found is None:
            raise ValidationFailed(
                [FieldViolation("If-Match", 'must be an ETag such as "3" (the version)')]
            )
        from_header = int(found.group(1))
    from_body = version or None
    if from_header is not None and from_body is not None and from_header != from_body:
        raise VersionConflict("resource", min(from_header, from_body))
    return from_header if from_header is not None else from_body


def page_request(
    codec: PageTokenCodec, page_size: int, page_token: str, filters: Mapping[str, Any]
) -> commands.PageRequest:
    """Clamped size and the key the signed token resumes after (400 for a bad token)."""
    return commands.PageRequest(
        size=clamp_page_size(page_size), after=codec.decode(page_token, filters)
    )


def pagination(
    codec: PageTokenCodec,
    page: Page[Any],
    request: commands.PageRequest,
    filters: Mapping[str, Any],
) -> pagination_pb2.Pagination:
    """meta.pagination of a list answer; the next token is bound to the same filters."""
    return pagination_pb2.Pagination(
        page_size=request.size,
        next_page_token=codec.encode(page.next_key, filters) if page.next_key else "",
        total_size=page.total,
    )


def course_filters(request: api.ListCoursesRequest) -> dict[str, Any]:
    """The filter and order of a catalogue request, as bound into its page tokens."""
    return {
        "q": request.q.strip().lower(),
        "categoryId": request.category_id,
        "difficulty": request.difficulty,
        "language": request.language,
        "isFree": request.is_free if request.HasField("is_free") else None,
        "minPrice": request.min_price,
        "maxPrice": request.max_price,
        "minRating": request.min_rating if request.HasField("min_rating") else None,
        "instructorId": request.instructor_id,
        "tag": request.tag.strip().lower(),
        "orderBy": request.order_by or commands.CourseOrder.NEWEST.value,
    }


def list_courses_command(
    request: api.ListCoursesRequest, page: commands.PageRequest
) -> commands.ListCourses:
    """ListCoursesRequest -> query (words of q, decimal prices, optional filters)."""
    tag = request.tag.strip().lower()
    return commands.ListCourses(
        filter=commands.CourseFilter(
            words=tuple(dict.fromkeys(_WORD.findall(request.q.lower()))),
            category_id=_uuid_or_none(request.category_id),
            difficulty=_DIFFICULTY_FROM_PROTO.get(request.difficulty),
            language=request.language or None,
            is_free=request.is_free if request.HasField("is_free") else None,
            min_price=Decimal(request.min_price) if request.min_price else None,
            max_price=Decimal(request.max_price) if request.max_price else None,
            min_rating=request.min_rating if request.HasField("min_rating") else None,
            instructor_id=_uuid_or_none(request.instructor_id),
            tag=tag or None,
        ),
        order=commands.CourseOrder(request.order_by or commands.CourseOrder.NEWEST.value),
        page=page,
    )


def create_course_command(request: api.CreateCourseRequest) -> commands.CreateCourse:
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
    return commands.CreateCourse(draft=draft)


def update_course_command(
    request: api.UpdateCourseRequest, if_match: str | None
) -> commands.UpdateCourse:
    """PATCH /courses/{id} -> changes of the masked fields only."""
    names = update_fields(request, request.update_mask, fixed=("course_id",))
    changes = CourseChanges(
        title=_change(request, "title", names),
        short_description=_change(request, "short_description", names),
        description=_change(request, "description", names),
        thumbnail_url=_change(request, "thumbnail_url", names),
        preview_video_url=_change(request, "preview_video_url", names),
        price=_change(request, "price", names, lambda v: Decimal(v or "0")),
        discount_price=_change(
            request, "discount_price", names, lambda v: Decimal(v) if v else None
        ),
        currency=_change(request, "currency", names),
        difficulty=_change(request, "difficulty", names, _DIFFICULTY_FROM_PROTO.get),
        language=_change(request, "language", names, lambda v: v or "en"),
        category_id=_change(request, "category_id", names, _uuid_or_none),
        tags=_change(request, "tags", names, tuple),
        prerequisites=_change(request, "prerequisites", names, tuple),
        learning_outcomes=_change(request, "learning_outcomes", names, tuple),
        target_audience=_change(request, "target_audience", names),
    )
    return commands.UpdateCourse(
        course_id=UUID(request.course_id),
        changes=changes,
        expected_version=expected_version(request.version, if_match),
    )


class CourseActionRequest(Protocol):
    """Publish/unpublish/archive/delete/restore requests share these two fields."""

    course_id: str
    version: int


def course_action(request: CourseActionRequest, if_match: str | None) -> commands.CourseAction:
    """Publish/unpublish/archive/delete/restore requests -> command."""
    return commands.CourseAction(
        course_id=UUID(request.course_id),
        expected_version=expected_version(request.version, if_match),
    )


def create_category_command(request: api.CreateCategoryRequest) -> commands.CreateCategory:
    """CreateCategoryRequest -> command."""
    return commands.CreateCategory(
        name=request.name,
        slug=request.slug,
        parent_id=_uuid_or_none(request.parent_id),
        order=request.order,
    )


def update_category_command(
    request: api.UpdateCategoryRequest, if_match: str | None
) -> commands.UpdateCategory:
    """PATCH /categories/{id} -> changes of the masked fields only."""
    names = update_fields(request, request.update_mask, fixed=("category_id",))
    return commands.UpdateCategory(
        category_id=UUID(request.category_id),
        changes=CategoryChanges(
            name=_change(request, "name", names),
            slug=_change(request, "slug", names),
            parent_id=_change(request, "parent_id", names, _uuid_or_none),
            order=_change(request, "order", names),
        ),
        expected_version=expected_version(request.version, if_match),
    )


def update_section_command(
    request: api.UpdateSectionRequest, if_match: str | None
) -> commands.UpdateSection:
    """PATCH /courses/{id}/sections/{id} -> the new title, if masked."""
    names = update_fields(request, request.update_mask, fixed=("course_id", "section_id"))
    return commands.UpdateSection(
        course_id=UUID(request.course_id),
        section_id=UUID(request.section_id),
        title=_change(request, "title", names),
        expected_version=expected_version(request.version, if_match),
    )


def instructor_profile_command(
    payload: user_events_pb2.UserRegistered | user_events_pb2.UserProfileUpdated,
    aggregate_version: int,
) -> commands.ApplyInstructorProfile:
    """user.registered / user.profile_updated -> the replica's upsert (the display name falls
    back to the full name; a new account has no avatar yet)."""
    if isinstance(payload, user_events_pb2.UserRegistered):
        return commands.ApplyInstructorProfile(
            user_id=UUID(payload.user_id),
            display_name=payload.display_name,
            avatar_url="",
            source_version=aggregate_version,
        )
    return commands.ApplyInstructorProfile(
        user_id=UUID(payload.user_id),
        display_name=payload.display_name or payload.full_name,
        avatar_url=payload.avatar_url,
        source_version=aggregate_version,
    )


PROGRESS_EVENT_TYPES = ("course.progress_updated", "course.completed")


def progress_command(envelope: events_pb2.EventEnvelope) -> commands.ApplyProgress:
    """An analytics progress event -> the enrolment update (completion only from
    course.completed; the envelope's version orders the reports of one student and course)."""
    if envelope.type == "course.completed":
        completed = analytics_events_pb2.CourseCompleted()
        if not envelope.payload.Unpack(completed):
            raise ValueError(f"course.completed carries {envelope.payload.type_url}")
        user_id, course_id, percent = completed.user_id, completed.course_id, 100.0
    else:
        progress = analytics_events_pb2.CourseProgressUpdated()
        if not envelope.payload.Unpack(progress):
            raise ValueError(f"{envelope.type} carries {envelope.payload.type_url}")
        user_id, course_id, percent = (
            progress.user_id,
            progress.course_id,
            progress.progress_percent,
        )
    return commands.ApplyProgress(
        user_id=UUID(user_id),
        course_id=UUID(course_id),
        progress_percent=percent,
        completed=envelope.type == "course.completed",
        source_version=envelope.aggregate_version,
        occurred_at=envelope.occurred_at.ToDatetime(tzinfo=UTC),
    )


def _resources(values: Any) -> tuple[LessonResource, ...]:
    return tuple(LessonResource(title=r.title, url=r.url) for r in values)


def create_lesson_command(request: api.CreateLessonRequest) -> commands.CreateLesson:
    """CreateLessonRequest -> command."""
    return commands.CreateLesson(
        section_id=UUID(request.section_id),
        draft=LessonDraft(
            title=request.title,
            description=request.description,
            video_url=request.video_url,
            video_provider=request.video_provider,
            thumbnail_url=request.thumbnail_url,
            duration_seconds=request.duration_seconds,
            is_preview=request.is_preview,
            transcript_url=request.transcript_url,
            resources=_resources(request.resources),
        ),
    )


def update_lesson_command(
    request: api.UpdateLessonRequest, if_match: str | None
) -> commands.UpdateLesson:
    """PATCH /lessons/{id} -> changes of the masked fields only."""
    names = update_fields(request, request.update_mask, fixed=("lesson_id",))
    return commands.UpdateLesson(
        lesson_id=UUID(request.lesson_id),
        changes=LessonChanges(
            title=_change(request, "title", names),
            description=_change(request, "description", names),
            video_url=_change(request, "video_url", names),
            video_provider=_change(request, "video_provider", names),
            thumbnail_url=_change(request, "thumbnail_url", names),
            duration_seconds=_change(request, "duration_seconds", names),
            is_preview=_change(request, "is_preview", names),
            transcript_url=_change(request, "transcript_url", names),
            resources=_change(request, "resources", names, _resources),
        ),
        expected_version=expected_version(request.version, if_match),
    )


def update_question_command(
    request: api.UpdateQuizQuestionRequest, if_match: str | None
) -> commands.UpdateQuizQuestion:
    """PATCH /quiz-questions/{id} -> changes of the masked fields only."""
    names = update_fields(request, request.update_mask, fixed=("question_id",))
    return commands.UpdateQuizQuestion(
        question_id=UUID(request.question_id),
        changes=QuizQuestionChanges(
            prompt=_change(request, "prompt", names),
            options=_change(request, "options", names, tuple),
            correct_option=_change(request, "correct_option", names),
            explanation=_change(request, "explanation", names),
            timestamp_seconds=_change(request, "timestamp_seconds", names),
        ),
        expected_version=expected_version(request.version, if_match),
    )


def update_review_command(
    request: api.UpdateReviewRequest, if_match: str | None
) -> commands.UpdateReview:
    """PATCH /reviews/{id} -> changes of the masked fields only."""
    names = update_fields(request, request.update_mask, fixed=("review_id",))
    return commands.UpdateReview(
        review_id=UUID(request.review_id),
        rating=_change(request, "rating", names),
        title=_change(request, "title", names),
        comment=_change(request, "comment", names),
        expected_version=expected_version(request.version, if_match),
    )


def course_status(value: course_pb2.CourseStatus.ValueType) -> CourseStatus | None:
    """A status filter (None when unspecified)."""
    return _STATUS_FROM_PROTO.get(value)


def enrollment_status(value: course_pb2.EnrollmentStatus.ValueType) -> EnrollmentStatus | None:
    """A status filter (None when unspecified)."""
    return _ENROLLMENT_FROM_PROTO.get(value)


# ----------------------------------------------------------------------------- resources


def course_message(details: CourseDetails) -> course_pb2.Course:
    """The Course resource with the instructor and category as ids only (names are attached
    per request from their own cached views) and without viewer state."""
    course = details.course
    message = course_pb2.Course(
        id=str(course.id),
        slug=course.slug,
        title=course.title,
        short_description=course.short_description,
        description=course.description,
        thumbnail_url=course.thumbnail_url,
        preview_video_url=course.preview_video_url,
        instructor=course_pb2.InstructorSummary(id=str(course.instructor_id)),
        price=_money(course.price),
        currency=course.currency,
        is_free=course.is_free,
        difficulty=_difficulty(course.difficulty),
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
        sections=[
            course_pb2.SectionOutline(
                id=str(section.id),
                title=section.title,
                order=section.order,
                lessons=[
                    course_pb2.LessonOutline(
                        id=str(lesson.id),
                        title=lesson.title,
                        order=lesson.order,
                        duration_seconds=lesson.duration_seconds,
                        is_preview=lesson.is_preview,
                    )
                    for lesson in section.lessons
                ],
            )
            for section in details.sections
        ],
        version=course.version,
        created_at=_timestamp(course.created_at),
        updated_at=_timestamp(course.updated_at),
        created_by=_str(course.created_by),
        updated_by=_str(course.updated_by),
        deleted_at=_timestamp(course.deleted_at),
    )
    if course.discount_price is not None:
        message.discount_price = _money(course.discount_price)
    if course.category_id is not None:
        message.category.id = str(course.category_id)
    return message


def viewer_message(state: ViewerState) -> course_pb2.ViewerState:
    """The caller's enrolment as shown on a course page."""
    enrollment = state.enrollment
    if enrollment is None:
        return course_pb2.ViewerState()
    return course_pb2.ViewerState(
        is_enrolled=state.is_enrolled,
        enrollment_status=_ENROLLMENT_TO_PROTO[enrollment.status],
        progress_percent=enrollment.progress_percent,
    )


def course_summary(card: CourseCard) -> course_pb2.CourseSummary:
    """One item of a course list."""
    message = course_pb2.CourseSummary(
        id=str(card.id),
        slug=card.slug,
        title=card.title,
        short_description=card.short_description,
        thumbnail_url=card.thumbnail_url,
        instructor=course_pb2.InstructorSummary(
            id=str(card.instructor.id),
            display_name=card.instructor.display_name,
            avatar_url=card.instructor.avatar_url,
        ),
        price=_money(card.price),
        currency=card.currency,
        is_free=card.is_free,
        difficulty=_difficulty(card.difficulty),
        language=card.language,
        tags=card.tags,
        duration_seconds=card.duration_seconds,
        lesson_count=card.lesson_count,
        enrollment_count=card.enrollment_count,
        rating_average=card.rating_average,
        rating_count=card.rating_count,
        published_at=_timestamp(card.published_at),
    )
    if card.discount_price is not None:
        message.discount_price = _money(card.discount_price)
    if card.category is not None:
        message.category.CopyFrom(
            course_pb2.CategorySummary(
                id=str(card.category.id), name=card.category.name, slug=card.category.slug
            )
        )
    return message


def teaching_course(card: CourseCard) -> course_pb2.TeachingCourse:
    """One of the caller's own courses."""
    return course_pb2.TeachingCourse(
        id=str(card.id),
        slug=card.slug,
        title=card.title,
        status=_STATUS_TO_PROTO[card.status],
        thumbnail_url=card.thumbnail_url,
        lesson_count=card.lesson_count,
        enrollment_count=card.enrollment_count,
        completion_count=card.completion_count,
        completion_rate=card.completion_rate,
        rating_average=card.rating_average,
        rating_count=card.rating_count,
        published_at=_timestamp(card.published_at),
        updated_at=_timestamp(card.updated_at),
        version=card.version,
    )


def category_message(
    category: Category, children: Sequence[CategoryNode] = ()
) -> course_pb2.Category:
    """A category with its subtree."""
    return course_pb2.Category(
        id=str(category.id),
        name=category.name,
        slug=category.slug,
        parent_id=_str(category.parent_id),
        order=category.order,
        children=[category_message(node.category, node.children) for node in children],
        version=category.version,
        created_at=_timestamp(category.created_at),
        updated_at=_timestamp(category.updated_at),
        created_by=_str(category.created_by),
        updated_by=_str(category.updated_by),
    )


def section_message(view: SectionView) -> course_pb2.Section:
    """A section with its lessons."""
    section = view.section
    return course_pb2.Section(
        id=str(section.id),
        course_id=str(section.course_id),
        title=section.title,
        order=section.order,
        lessons=[
            course_pb2.LessonOutline(
                id=str(lesson.id),
                title=lesson.title,
                order=lesson.order,
                duration_seconds=lesson.duration_seconds,
                is_preview=lesson.is_preview,
            )
            for lesson in view.lessons
        ],
        version=section.version,
        created_at=_timestamp(section.created_at),
        updated_at=_timestamp(section.updated_at),
        created_by=_str(section.created_by),
        updated_by=_str(section.updated_by),
    )


def question_message(question: QuizQuestion, *, reveal: bool) -> course_pb2.QuizQuestion:
    """A quiz question; the answer and explanation only when `reveal` (owner routes)."""
    message = course_pb2.QuizQuestion(
        id=str(question.id),
        lesson_id=str(question.lesson_id),
        prompt=question.prompt,
        options=question.options,
        timestamp_seconds=question.timestamp_seconds,
        version=question.version,
        created_at=_timestamp(question.created_at),
        updated_at=_timestamp(question.updated_at),
        created_by=_str(question.created_by),
        updated_by=_str(question.updated_by),
    )
    if reveal:
        message.correct_option = question.correct_option
        message.explanation = question.explanation
    return message


def lesson_message(view: LessonView) -> course_pb2.Lesson:
    """A lesson with its quiz questions, answers hidden."""
    lesson = view.lesson
    return course_pb2.Lesson(
        id=str(lesson.id),
        course_id=str(lesson.course_id),
        section_id=str(lesson.section_id),
        title=lesson.title,
        description=lesson.description,
        order=lesson.order,
        video_url=lesson.video_url,
        video_provider=lesson.video_provider,
        thumbnail_url=lesson.thumbnail_url,
        duration_seconds=lesson.duration_seconds,
        is_preview=lesson.is_preview,
        transcript_url=lesson.transcript_url,
        resources=[course_pb2.LessonResource(title=r.title, url=r.url) for r in lesson.resources],
        quiz_questions=[question_message(q, reveal=False) for q in view.questions],
        version=lesson.version,
        created_at=_timestamp(lesson.created_at),
        updated_at=_timestamp(lesson.updated_at),
        created_by=_str(lesson.created_by),
        updated_by=_str(lesson.updated_by),
    )


def attempt_message(attempt: QuizAttempt, question: QuizQuestion) -> course_pb2.QuizAttempt:
    """The graded answer with the correct option and the explanation."""
    return course_pb2.QuizAttempt(
        id=str(attempt.id),
        question_id=str(attempt.question_id),
        selected_option=attempt.selected_option,
        correct=attempt.correct,
        correct_option=question.correct_option,
        explanation=question.explanation,
        time_spent_seconds=attempt.time_spent_seconds,
        created_at=_timestamp(attempt.created_at),
    )


def enrollment_message(
    enrollment: Enrollment, course: CourseCard | None = None
) -> course_pb2.Enrollment:
    """An enrolment, with its course summary in lists."""
    message = course_pb2.Enrollment(
        id=str(enrollment.id),
        course_id=str(enrollment.course_id),
        user_id=str(enrollment.user_id),
        status=_ENROLLMENT_TO_PROTO[enrollment.status],
        progress_percent=enrollment.progress_percent,
        enrolled_at=_timestamp(enrollment.enrolled_at),
        activated_at=_timestamp(enrollment.activated_at),
        completed_at=_timestamp(enrollment.completed_at),
        cancelled_at=_timestamp(enrollment.cancelled_at),
        last_accessed_at=_timestamp(enrollment.last_accessed_at),
        version=enrollment.version,
        updated_at=_timestamp(enrollment.updated_at),
    )
    if course is not None:
        message.course.CopyFrom(course_summary(course))
    return message


def student_message(enrollment: Enrollment) -> course_pb2.CourseStudent:
    """A student of a course, for its owner."""
    return course_pb2.CourseStudent(
        user_id=str(enrollment.user_id),
        enrollment_id=str(enrollment.id),
        status=_ENROLLMENT_TO_PROTO[enrollment.status],
        progress_percent=enrollment.progress_percent,
        enrolled_at=_timestamp(enrollment.enrolled_at),
        last_active_at=_timestamp(enrollment.last_accessed_at),
    )


def review_message(review: Review) -> course_pb2.Review:
    """A review."""
    return course_pb2.Review(
        id=str(review.id),
        course_id=str(review.course_id),
        user_id=str(review.user_id),
        rating=review.rating,
        title=review.title,
        comment=review.comment,
        version=review.version,
        created_at=_timestamp(review.created_at),
        updated_at=_timestamp(review.updated_at),
    )


# ----------------------------------------------------------------------------- events


def _course_facts(facts: events.CourseFacts) -> dict[str, Any]:
    return {
        "course_id": str(facts.course_id),
        "instructor_id": str(facts.instructor_id),
        "title": facts.title,
        "slug": facts.slug,
        "category_id": _str(facts.category_id),
        "price": _money(facts.price),
        "currency": facts.currency,
        "is_free": facts.is_free,
    }


def _lesson_facts(facts: events.LessonFacts) -> course_events_pb2.LessonFacts:
    return course_events_pb2.LessonFacts(
        lesson_id=str(facts.lesson_id),
        section_id=str(facts.section_id),
        order=facts.order,
        duration_seconds=facts.duration_seconds,
        is_preview=facts.is_preview,
    )


def _course_status(value: str) -> course_pb2.CourseStatus.ValueType:
    return _STATUS_TO_PROTO[CourseStatus(value)]


def _course_created(event: events.CourseCreated) -> Message:
    return course_events_pb2.CourseCreated(
        **_course_facts(event.course),
        status=_course_status(event.course.status),
        duplicated_from=_str(event.duplicated_from),
    )


def _course_updated(event: events.CourseUpdated) -> Message:
    facts = event.course
    return course_events_pb2.CourseUpdated(
        **_course_facts(facts),
        changed_fields=event.changed_fields,
        status=_course_status(facts.status),
        difficulty=_difficulty(Difficulty(facts.difficulty) if facts.difficulty else None),
        language=facts.language,
        tags=facts.tags,
    )


def _course_published(event: events.CoursePublished) -> Message:
    return course_events_pb2.CoursePublished(
        **_course_facts(event.course),
        published_at=_timestamp(event.published_at),
        lesson_count=event.totals.lesson_count,
        duration_seconds=event.totals.duration_seconds,
        lessons=[_lesson_facts(lesson) for lesson in event.lessons],
    )


def _rating(totals: events.RatingTotals) -> dict[str, Any]:
    return {"course_rating_average": totals.average, "course_rating_count": totals.count}


def _outline(totals: events.OutlineTotals) -> dict[str, Any]:
    return {
        "course_lesson_count": totals.lesson_count,
        "course_duration_seconds": totals.duration_seconds,
    }


_EVENTS: dict[type[Any], tuple[str, Callable[[Any], Message]]] = {
    events.CourseCreated: ("course.created", _course_created),
    events.CourseUpdated: ("course.updated", _course_updated),
    events.CoursePublished: ("course.published", _course_published),
    events.CourseUnpublished: (
        "course.unpublished",
        lambda e: course_events_pb2.CourseUnpublished(
            course_id=str(e.course_id), instructor_id=str(e.instructor_id)
        ),
    ),
    events.CourseArchived: (
        "course.archived",
        lambda e: course_events_pb2.CourseArchived(
            course_id=str(e.course_id), instructor_id=str(e.instructor_id)
        ),
    ),
    events.CourseDeleted: (
        "course.deleted",
        lambda e: course_events_pb2.CourseDeleted(
            course_id=str(e.course_id),
            instructor_id=str(e.instructor_id),
            deleted_by=str(e.deleted_by),
        ),
    ),
    events.CourseRestored: (
        "course.restored",
        lambda e: course_events_pb2.CourseRestored(
            course_id=str(e.course_id),
            instructor_id=str(e.instructor_id),
            status=_course_status(e.status),
        ),
    ),
    events.LessonCreated: (
        "lesson.created",
        lambda e: course_events_pb2.LessonCreated(
            lesson=_lesson_facts(e.lesson),
            course_id=str(e.course_id),
            title=e.title,
            **_outline(e.totals),
        ),
    ),
    events.LessonUpdated: (
        "lesson.updated",
        lambda e: course_events_pb2.LessonUpdated(
            lesson=_lesson_facts(e.lesson),
            course_id=str(e.course_id),
            title=e.title,
            changed_fields=e.changed_fields,
            **_outline(e.totals),
        ),
    ),
    events.LessonDeleted: (
        "lesson.deleted",
        lambda e: course_events_pb2.LessonDeleted(
            lesson=_lesson_facts(e.lesson), course_id=str(e.course_id), **_outline(e.totals)
        ),
    ),
    events.EnrollmentCreated: (
        "enrollment.created",
        lambda e: course_events_pb2.EnrollmentCreated(
            enrollment_id=str(e.enrollment_id),
            user_id=str(e.user_id),
            course_id=str(e.course_id),
            instructor_id=str(e.instructor_id),
            status=_enrollment_status(e.status),
            price=_money(e.price),
            currency=e.currency,
            course_lesson_count=e.course_lesson_count,
        ),
    ),
    events.EnrollmentActivated: (
        "enrollment.activated",
        lambda e: course_events_pb2.EnrollmentActivated(
            enrollment_id=str(e.enrollment_id),
            user_id=str(e.user_id),
            course_id=str(e.course_id),
            activated_by=str(e.activated_by),
        ),
    ),
    events.EnrollmentCancelled: (
        "enrollment.cancelled",
        lambda e: course_events_pb2.EnrollmentCancelled(
            enrollment_id=str(e.enrollment_id),
            user_id=str(e.user_id),
            course_id=str(e.course_id),
            previous_status=_enrollment_status(e.previous_status),
        ),
    ),
    events.ReviewSubmitted: (
        "review.submitted",
        lambda e: course_events_pb2.ReviewSubmitted(
            review_id=str(e.review_id),
            course_id=str(e.course_id),
            user_id=str(e.user_id),
            rating=e.rating,
            **_rating(e.totals),
        ),
    ),
    events.ReviewUpdated: (
        "review.updated",
        lambda e: course_events_pb2.ReviewUpdated(
            review_id=str(e.review_id),
            course_id=str(e.course_id),
            user_id=str(e.user_id),
            rating=e.rating,
            previous_rating=e.previous_rating,
            **_rating(e.totals),
        ),
    ),
    events.ReviewDeleted: (
        "review.deleted",
        lambda e: course_events_pb2.ReviewDeleted(
            review_id=str(e.review_id),
            course_id=str(e.course_id),
            user_id=str(e.user_id),
            rating=e.rating,
            deleted_by=str(e.deleted_by),
            **_rating(e.totals),
        ),
    ),
    events.QuizAttempted: (
        "quiz.attempted",
        lambda e: course_events_pb2.QuizAttempted(
            attempt_id=str(e.attempt_id),
            question_id=str(e.question_id),
            lesson_id=str(e.lesson_id),
            course_id=str(e.course_id),
            user_id=str(e.user_id),
            selected_option=e.selected_option,
            correct_option=e.correct_option,
            correct=e.correct,
            time_spent_seconds=e.time_spent_seconds,
            timestamp_seconds=e.timestamp_seconds,
        ),
    ),
}


def event_payload(raised: RaisedEvent) -> EventPayload:
    """Domain event -> (event type, protobuf payload) for the outbox."""
    mapping = _EVENTS.get(type(raised.event))
    if mapping is None:
        raise TypeError(f"no event mapping for {type(raised.event).__name__}")
    event_type, build = mapping
    return EventPayload(event_type, build(raised.event))
