"""The one translation between protobuf messages and the analytics domain.

Requests become commands, domain views become responses, consumed event envelopes become
replica commands, and raised domain events become outbox payloads.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from kernel.domain import RaisedEvent
from kernel.errors import DomainError, FieldViolation, ValidationFailed
from kernel.outbox import EventPayload
from kernel.validation import validate
from services.analytics.domain import events
from services.analytics.domain.model import EnrollmentStatus, Heartbeat, LessonProgress
from services.analytics.domain.replicas import CourseFacts, LessonFacts, OutlineTotals
from services.analytics.domain.views import (
    AdminMetrics,
    CourseAnalytics,
    CourseExport,
    CourseProgressView,
    Dashboard,
    PlatformStats,
    QuizTotals,
    StudentProgress,
)
from services.analytics.service_layer.commands import (
    ApplyCourse,
    ApplyEnrollment,
    ApplyLesson,
    ApplyQuizAttempt,
    ApplyRating,
    ApplyRoleChange,
    ApplyUserDeleted,
    ApplyUserRegistered,
    EventMeta,
    RecordHeartbeats,
    ReplicaCommand,
)
from unpuzzle.analytics.v1 import analytics_events_pb2, analytics_pb2, analytics_service_pb2
from unpuzzle.common.v1 import events_pb2
from unpuzzle.course.v1 import course_events_pb2, course_pb2
from unpuzzle.user.v1 import user_events_pb2

# ----------------------------------------------------------------------------- requests


def heartbeat_command(
    request: analytics_service_pb2.RecordHeartbeatRequest, received_at: datetime
) -> RecordHeartbeats:
    """PUT /lessons/{lessonId}/progress; without sentAt the heartbeat is dated on arrival."""
    sent_at = _datetime(request.sent_at) if request.HasField("sent_at") else received_at
    return RecordHeartbeats(
        (
            Heartbeat(
                UUID(request.lesson_id),
                request.position_seconds,
                request.watched_seconds,
                sent_at,
            ),
        )
    )


def heartbeats_command(request: analytics_service_pb2.RecordHeartbeatsRequest) -> RecordHeartbeats:
    """POST /progress:batch; the items' field rules are checked here (the interceptor checks
    only the top-level fields), every bad field reported by its path."""
    violations: list[FieldViolation] = []
    for index, item in enumerate(request.heartbeats):
        try:
            validate(item)
        except ValidationFailed as failed:
            violations.extend(
                FieldViolation(f"heartbeats[{index}].{v.field}", v.description)
                for v in failed.violations
            )
    if violations:
        raise ValidationFailed(violations)
    return RecordHeartbeats(
        tuple(
            Heartbeat(
                UUID(item.lesson_id),
                item.position_seconds,
                item.watched_seconds,
                _datetime(item.sent_at),
            )
            for item in request.heartbeats
        )
    )


# ----------------------------------------------------------------------------- responses


def lesson_progress_message(
    progress: LessonProgress, *, title: str = "", quiz: QuizTotals | None = None
) -> analytics_pb2.LessonProgress:
    """A student's progress in a lesson."""
    message = analytics_pb2.LessonProgress(
        lesson_id=str(progress.lesson_id),
        course_id=str(progress.course_id),
        position_seconds=progress.position_seconds,
        max_position_seconds=progress.max_position_seconds,
        watched_seconds=progress.watched_seconds,
        duration_seconds=progress.duration_seconds,
        completed=progress.completed,
        updated_at=_timestamp(progress.updated_at),
        lesson_title=title,
        quiz=_quiz(quiz or QuizTotals()),
    )
    if progress.completed_at is not None:
        message.completed_at.CopyFrom(_timestamp(progress.completed_at))
    return message


def heartbeats_response(
    progress: list[LessonProgress], rejected: dict[UUID, DomainError]
) -> analytics_service_pb2.RecordHeartbeatsResponse:
    """The batch answer: updated lessons, and the refused ones with their reason."""
    return analytics_service_pb2.RecordHeartbeatsResponse(
        progress=[lesson_progress_message(item) for item in progress],
        rejected=[
            analytics_service_pb2.RejectedHeartbeat(lesson_id=str(lesson_id), reason=error.reason)
            for lesson_id, error in rejected.items()
        ],
    )


def course_progress_message(view: CourseProgressView) -> analytics_pb2.CourseProgress:
    """A student's progress in a course."""
    message = analytics_pb2.CourseProgress(
        course_id=str(view.course_id),
        progress_percent=view.progress_percent,
        completed_lessons=view.completed_lessons,
        total_lessons=view.total_lessons,
        time_spent_seconds=view.time_spent_seconds,
        quiz=_quiz(view.quiz),
    )
    if view.last_lesson is not None:
        message.last_lesson.CopyFrom(
            analytics_pb2.ResumePoint(
                id=str(view.last_lesson.lesson_id),
                position_seconds=view.last_lesson.position_seconds,
            )
        )
    _set_time(message, "completed_at", view.completed_at)
    return message


def dashboard_message(view: Dashboard) -> analytics_pb2.Dashboard:
    """The student's dashboard."""
    message = analytics_pb2.Dashboard(
        time_spent_today_seconds=view.time_spent_today_seconds,
        time_spent_this_week_seconds=view.time_spent_this_week_seconds,
        current_streak_days=view.current_streak_days,
    )
    for course in view.courses_in_progress:
        item = message.courses_in_progress.add(
            course_id=str(course.course_id),
            title=course.title,
            progress_percent=course.progress_percent,
            completed_lessons=course.completed_lessons,
            total_lessons=course.total_lessons,
        )
        _set_time(item, "last_activity_at", course.last_activity_at)
    for recent in view.recent_activity:
        progress = recent.progress
        message.recent_activity.add(
            lesson_id=str(progress.lesson_id),
            lesson_title=recent.lesson_title,
            course_id=str(progress.course_id),
            course_title=recent.course_title,
            position_seconds=progress.position_seconds,
            watched_seconds=progress.watched_seconds,
            completed=progress.completed,
            occurred_at=_timestamp(progress.updated_at),
        )
    return message


def course_analytics_message(view: CourseAnalytics) -> analytics_pb2.CourseAnalytics:
    """An instructor's analytics of a course."""
    return analytics_pb2.CourseAnalytics(
        course_id=str(view.course_id),
        enrollments=view.enrollments,
        active_students_7d=view.active_students_7d,
        completion_rate=view.completion_rate,
        average_progress=view.average_progress,
        rating_average=view.rating_average,
        rating_count=view.rating_count,
        from_date=view.first_day.isoformat(),
        to_date=view.last_day.isoformat(),
        daily=[
            analytics_pb2.DailyCourseStats(
                date=day.day.isoformat(),
                enrollments=day.enrollments,
                active_students=day.active_students,
                watch_seconds=day.watch_seconds,
            )
            for day in view.daily
        ],
        lessons=[
            analytics_pb2.LessonAnalytics(
                lesson_id=str(lesson.lesson_id),
                title=lesson.title,
                section_id=str(lesson.section_id or ""),
                order=lesson.order,
                duration_seconds=lesson.duration_seconds,
                views=lesson.views,
                average_watch_seconds=lesson.average_watch_seconds,
                completion_rate=lesson.completion_rate,
                drop_off=lesson.drop_off,
                quiz_attempts=lesson.quiz.attempts,
                quiz_accuracy=lesson.quiz.accuracy,
            )
            for lesson in view.lessons
        ],
    )


def student_progress_message(view: StudentProgress) -> analytics_pb2.StudentCourseProgress:
    """One student's progress in a course, for its instructor."""
    message = analytics_pb2.StudentCourseProgress(
        course_id=str(view.course_id),
        student_id=str(view.student_id),
        enrollment_status=_ENROLLMENT_STATUS_MESSAGES[view.enrollment_status],
        progress_percent=view.progress_percent,
        completed_lessons=view.completed_lessons,
        total_lessons=view.total_lessons,
        time_spent_seconds=view.time_spent_seconds,
        quiz=_quiz(view.quiz),
    )
    _set_time(message, "completed_at", view.completed_at)
    for row in view.lessons:
        if row.progress is None:
            message.lessons.add(
                lesson_id=str(row.lesson.lesson_id),
                course_id=str(row.lesson.course_id),
                duration_seconds=row.lesson.duration_seconds,
                lesson_title=row.lesson.title,
                quiz=_quiz(row.quiz),
            )
        else:
            message.lessons.append(
                lesson_progress_message(row.progress, title=row.lesson.title, quiz=row.quiz)
            )
    return message


EXPORT_COLUMNS = (
    "student_id",
    "enrollment_status",
    "enrolled_on",
    "progress_percent",
    "completed_lessons",
    "total_lessons",
    "time_spent_seconds",
    "quiz_attempts",
    "quiz_correct",
    "last_activity_at",
    "completed_at",
)


def export_response(export: CourseExport) -> analytics_service_pb2.ExportCourseAnalyticsResponse:
    """The CSV download: ids, numbers and dates only, so no cell can carry a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in export.rows:
        writer.writerow(
            (
                row.student_id,
                row.enrollment_status.value,
                row.enrolled_on.isoformat() if row.enrolled_on else "",
                f"{row.progress_percent:.2f}",
                row.completed_lessons,
                row.total_lessons,
                row.time_spent_seconds,
                row.quiz.attempts,
                row.quiz.correct,
                _iso(row.last_activity_at),
                _iso(row.completed_at),
            )
        )
    return analytics_service_pb2.ExportCourseAnalyticsResponse(
        filename=f"course-{export.course_id}-progress-{export.generated_on.isoformat()}.csv",
        content_type="text/csv; charset=utf-8",
        content=buffer.getvalue(),
    )


def platform_stats_message(view: PlatformStats) -> analytics_pb2.PlatformStats:
    """Platform totals."""
    return analytics_pb2.PlatformStats(
        total_courses=view.total_courses,
        total_students=view.total_students,
        total_instructors=view.total_instructors,
        total_enrollments=view.total_enrollments,
        average_rating=view.average_rating,
    )


def admin_metrics_message(view: AdminMetrics) -> analytics_pb2.AdminMetrics:
    """Platform activity per day."""
    return analytics_pb2.AdminMetrics(
        from_date=view.first_day.isoformat(),
        to_date=view.last_day.isoformat(),
        days=[
            analytics_pb2.DailyPlatformMetrics(
                date=day.day.isoformat(),
                signups=day.signups,
                enrollments=day.enrollments,
                active_learners=day.active_learners,
                lessons_completed=day.lessons_completed,
            )
            for day in view.days
        ],
    )


# ----------------------------------------------------------------------------- consumed events

_COURSE_STATUSES = {
    course_pb2.COURSE_STATUS_DRAFT: "draft",
    course_pb2.COURSE_STATUS_PUBLISHED: "published",
    course_pb2.COURSE_STATUS_UNPUBLISHED: "unpublished",
    course_pb2.COURSE_STATUS_ARCHIVED: "archived",
}
_ENROLLMENT_STATUSES = {
    course_pb2.ENROLLMENT_STATUS_PENDING_PAYMENT: EnrollmentStatus.PENDING_PAYMENT,
    course_pb2.ENROLLMENT_STATUS_ACTIVE: EnrollmentStatus.ACTIVE,
    course_pb2.ENROLLMENT_STATUS_COMPLETED: EnrollmentStatus.COMPLETED,
    course_pb2.ENROLLMENT_STATUS_CANCELLED: EnrollmentStatus.CANCELLED,
}
_ENROLLMENT_STATUS_MESSAGES = {status: number for number, status in _ENROLLMENT_STATUSES.items()}

_Builder = Callable[[Any, EventMeta], ReplicaCommand]


def _course(
    payload: Any,
    meta: EventMeta,
    *,
    status: str | None = None,
    deleted: bool | None = None,
) -> ApplyCourse:
    title = _carried(payload, "title")
    if status is None:
        status = _COURSE_STATUSES.get(_carried(payload, "status"))
    facts = CourseFacts(
        UUID(payload.course_id), UUID(payload.instructor_id), title, status, deleted
    )
    return ApplyCourse(meta, facts)


def _published(payload: course_events_pb2.CoursePublished, meta: EventMeta) -> ApplyCourse:
    course_id = UUID(payload.course_id)
    facts = CourseFacts(
        course_id,
        UUID(payload.instructor_id),
        payload.title,
        "published",
        None,
        _datetime(payload.published_at) if payload.HasField("published_at") else meta.occurred_at,
    )
    lessons = tuple(
        _lesson_facts(item, course_id, position=position)
        for position, item in enumerate(payload.lessons)
    )
    outline = OutlineTotals(payload.lesson_count, payload.duration_seconds)
    return ApplyCourse(meta, facts, outline, lessons)


def _lesson_facts(
    facts: course_events_pb2.LessonFacts,
    course_id: UUID,
    *,
    title: str | None = None,
    position: int | None = None,
    deleted: bool = False,
) -> LessonFacts:
    return LessonFacts(
        lesson_id=UUID(facts.lesson_id),
        course_id=course_id,
        section_id=UUID(facts.section_id) if facts.section_id else None,
        order=facts.order,
        duration_seconds=facts.duration_seconds,
        is_preview=facts.is_preview,
        title=title,
        position=position,
        deleted=deleted,
    )


def _lesson(payload: Any, meta: EventMeta, *, deleted: bool = False) -> ApplyLesson:
    course_id = UUID(payload.course_id)
    title = _carried(payload, "title")
    return ApplyLesson(
        meta,
        _lesson_facts(payload.lesson, course_id, title=title, deleted=deleted),
        OutlineTotals(payload.course_lesson_count, payload.course_duration_seconds),
    )


def _enrollment(payload: Any, meta: EventMeta, status: EnrollmentStatus) -> ApplyEnrollment:
    return ApplyEnrollment(meta, UUID(payload.user_id), UUID(payload.course_id), status)


def _rating(payload: Any, meta: EventMeta) -> ApplyRating:
    return ApplyRating(
        meta, UUID(payload.course_id), payload.course_rating_average, payload.course_rating_count
    )


def _quiz_attempt(payload: course_events_pb2.QuizAttempted, meta: EventMeta) -> ApplyQuizAttempt:
    return ApplyQuizAttempt(
        meta,
        UUID(payload.user_id),
        UUID(payload.lesson_id),
        UUID(payload.course_id),
        payload.correct,
    )


COURSE_EVENTS: dict[str, tuple[type[Message], _Builder]] = {
    "course.created": (course_events_pb2.CourseCreated, _course),
    "course.updated": (course_events_pb2.CourseUpdated, _course),
    "course.published": (course_events_pb2.CoursePublished, _published),
    "course.unpublished": (
        course_events_pb2.CourseUnpublished,
        lambda p, m: _course(p, m, status="unpublished"),
    ),
    "course.archived": (
        course_events_pb2.CourseArchived,
        lambda p, m: _course(p, m, status="archived"),
    ),
    "course.deleted": (course_events_pb2.CourseDeleted, lambda p, m: _course(p, m, deleted=True)),
    "course.restored": (
        course_events_pb2.CourseRestored,
        lambda p, m: _course(p, m, deleted=False),
    ),
    "lesson.created": (course_events_pb2.LessonCreated, _lesson),
    "lesson.updated": (course_events_pb2.LessonUpdated, _lesson),
    "lesson.deleted": (course_events_pb2.LessonDeleted, lambda p, m: _lesson(p, m, deleted=True)),
    "enrollment.created": (
        course_events_pb2.EnrollmentCreated,
        lambda p, m: _enrollment(
            p, m, _ENROLLMENT_STATUSES.get(p.status, EnrollmentStatus.PENDING_PAYMENT)
        ),
    ),
    "enrollment.activated": (
        course_events_pb2.EnrollmentActivated,
        lambda p, m: _enrollment(p, m, EnrollmentStatus.ACTIVE),
    ),
    "enrollment.cancelled": (
        course_events_pb2.EnrollmentCancelled,
        lambda p, m: _enrollment(p, m, EnrollmentStatus.CANCELLED),
    ),
    "review.submitted": (course_events_pb2.ReviewSubmitted, _rating),
    "review.updated": (course_events_pb2.ReviewUpdated, _rating),
    "review.deleted": (course_events_pb2.ReviewDeleted, _rating),
    "quiz.attempted": (course_events_pb2.QuizAttempted, _quiz_attempt),
}

USER_EVENTS: dict[str, tuple[type[Message], _Builder]] = {
    "user.registered": (
        user_events_pb2.UserRegistered,
        lambda p, m: ApplyUserRegistered(m, UUID(p.user_id), frozenset(p.roles)),
    ),
    "user.role_granted": (
        user_events_pb2.UserRoleGranted,
        lambda p, m: ApplyRoleChange(m, UUID(p.user_id), p.role, granted=True),
    ),
    "user.role_revoked": (
        user_events_pb2.UserRoleRevoked,
        lambda p, m: ApplyRoleChange(m, UUID(p.user_id), p.role, granted=False),
    ),
    "user.deleted": (
        user_events_pb2.UserDeleted,
        lambda p, m: ApplyUserDeleted(m, UUID(p.user_id)),
    ),
}


def replica_command(envelope: events_pb2.EventEnvelope, consumer: str) -> ReplicaCommand | None:
    """The command applying a consumed event, or None for event types analytics ignores."""
    known = COURSE_EVENTS.get(envelope.type) or USER_EVENTS.get(envelope.type)
    if known is None:
        return None
    message_class, build = known
    payload = message_class()
    if not envelope.payload.Unpack(payload):
        raise ValueError(f"{envelope.type} carries {envelope.payload.type_url}")
    meta = EventMeta(
        consumer=consumer,
        event_id=envelope.id,
        event_type=envelope.type,
        occurred_at=_datetime(envelope.occurred_at),
        version=envelope.aggregate_version,
    )
    return build(payload, meta)


# ----------------------------------------------------------------------------- raised events


def event_payload(raised: RaisedEvent) -> EventPayload:
    """Domain event -> (event type, protobuf payload) for the outbox."""
    event = raised.event
    if isinstance(event, events.LessonCompleted):
        return EventPayload(
            "lesson.completed",
            analytics_events_pb2.LessonCompleted(
                user_id=str(event.user_id),
                lesson_id=str(event.lesson_id),
                course_id=str(event.course_id),
            ),
        )
    if isinstance(event, events.CourseProgressUpdated):
        return EventPayload(
            "course.progress_updated",
            analytics_events_pb2.CourseProgressUpdated(
                user_id=str(event.user_id),
                course_id=str(event.course_id),
                progress_percent=event.progress_percent,
                completed_lessons=event.completed_lessons,
                total_lessons=event.total_lessons,
            ),
        )
    if isinstance(event, events.CourseCompleted):
        return EventPayload(
            "course.completed",
            analytics_events_pb2.CourseCompleted(
                user_id=str(event.user_id), course_id=str(event.course_id)
            ),
        )
    raise TypeError(f"no event mapping for {type(event).__name__}")


# ----------------------------------------------------------------------------- helpers


def _carried(payload: Message, name: str) -> Any:
    """The field's value if this event type carries it, else None."""
    return getattr(payload, name) if name in payload.DESCRIPTOR.fields_by_name else None


def _quiz(totals: QuizTotals) -> analytics_pb2.QuizResults:
    return analytics_pb2.QuizResults(attempts=totals.attempts, correct=totals.correct)


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _set_time(message: Any, field: str, moment: datetime | None) -> None:
    if moment is not None:
        getattr(message, field).CopyFrom(_timestamp(moment))


def _datetime(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def _iso(moment: datetime | None) -> str:
    return moment.isoformat().replace("+00:00", "Z") if moment else ""
