"""Events of the course and user services build the replicas: once, and in any order."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from services.analytics.adapters.tables import inbox, quiz_stats
from unpuzzle.course.v1 import course_events_pb2, course_pb2
from unpuzzle.user.v1 import user_events_pb2

pytestmark = pytest.mark.integration


async def _scalar(analytics, query):
    async with analytics.infra.database.connect(read_only=True) as connection:
        return await connection.scalar(query)


async def test_a_redelivered_event_changes_nothing(feed, analytics):
    course = await feed.course([100])
    [lesson] = course.lessons
    student = uuid.uuid4()
    attempt = feed.envelope(
        "quiz.attempted",
        course_events_pb2.QuizAttempted(
            attempt_id=str(uuid.uuid4()),
            question_id=str(uuid.uuid4()),
            lesson_id=str(lesson),
            course_id=str(course.course_id),
            user_id=str(student),
            correct=True,
        ),
        aggregate="quiz_attempt",
        aggregate_id=uuid.uuid4(),
    )
    await feed.send(attempt)
    await feed.send(attempt)  # the same event again, past JetStream's de-duplication
    await feed.settle()
    attempts = await _scalar(
        analytics, sa.select(quiz_stats.c.attempts).where(quiz_stats.c.user_id == student)
    )
    assert attempts == 1
    handled = await _scalar(
        analytics, sa.select(sa.func.count()).where(inbox.c.event_id == uuid.UUID(attempt.id))
    )
    assert handled == 1


async def test_an_out_of_order_cancellation_is_not_undone(feed, api, tokens):
    course = await feed.course([100])
    [lesson] = course.lessons
    student = uuid.uuid4()
    enrollment_id = uuid.uuid4()
    cancelled = feed.envelope(
        "enrollment.cancelled",
        course_events_pb2.EnrollmentCancelled(
            enrollment_id=str(enrollment_id), user_id=str(student), course_id=str(course.course_id)
        ),
        aggregate="enrollment",
        aggregate_id=enrollment_id,
        version=2,
    )
    created = feed.envelope(
        "enrollment.created",
        course_events_pb2.EnrollmentCreated(
            enrollment_id=str(enrollment_id),
            user_id=str(student),
            course_id=str(course.course_id),
            status=course_pb2.ENROLLMENT_STATUS_ACTIVE,
        ),
        aggregate="enrollment",
        aggregate_id=enrollment_id,
        version=1,
    )
    await feed.send(cancelled)
    await feed.send(created)
    await feed.settle()
    response = await api.put(
        f"/api/v1/lessons/{lesson}/progress",
        json={"positionSeconds": 1, "watchedSeconds": 1},
        headers=tokens.student(student),
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "NOT_ENROLLED"


async def test_platform_totals_follow_course_user_and_review_events(feed, api):
    listed = await feed.course([60], title="Listed")
    hidden = await feed.course([60], title="Hidden")
    await feed.publish(
        "course.deleted",
        course_events_pb2.CourseDeleted(
            course_id=str(hidden.course_id), instructor_id=str(hidden.instructor_id)
        ),
        aggregate="course",
        aggregate_id=hidden.course_id,
    )
    students = [uuid.uuid4(), uuid.uuid4()]
    for student in students:
        await feed.register(student, "student")
    await feed.publish(
        "user.role_granted",
        user_events_pb2.UserRoleGranted(user_id=str(students[0]), role="instructor"),
        aggregate="user",
        aggregate_id=students[0],
        producer="user",
    )
    await feed.publish(
        "user.deleted",
        user_events_pb2.UserDeleted(user_id=str(students[1])),
        aggregate="user",
        aggregate_id=students[1],
        producer="user",
    )
    await feed.enrol(listed, students[0])
    await feed.enrol(listed, students[1], status=course_pb2.ENROLLMENT_STATUS_PENDING_PAYMENT)
    for average, count in ((5.0, 1), (4.0, 2)):
        await feed.publish(
            "review.submitted",
            course_events_pb2.ReviewSubmitted(
                review_id=str(uuid.uuid4()),
                course_id=str(listed.course_id),
                user_id=str(uuid.uuid4()),
                rating=3,
                course_rating_average=average,
                course_rating_count=count,
            ),
            aggregate="review",
            aggregate_id=uuid.uuid4(),
        )
    await feed.settle()
    response = await api.get("/api/v1/stats/platform")
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {
        "totalCourses": 1,
        "totalStudents": 1,
        "totalInstructors": 1,
        "totalEnrollments": 1,
        "averageRating": 4.0,
    }


async def test_a_lesson_added_later_recounts_progress(feed, api, tokens, analytics):
    course = await feed.course([100, 100])
    student = uuid.uuid4()
    await feed.enrol(course, student)
    await feed.settle()
    headers = tokens.student(student)
    first = next(iter(course.lessons))
    completed = await api.post(f"/api/v1/lessons/{first}:complete", json={}, headers=headers)
    assert completed.status_code == 200, completed.text
    await feed.add_lesson(course, 100)
    await feed.settle()
    progress = await api.get(f"/api/v1/me/courses/{course.course_id}/progress", headers=headers)
    data = progress.json()["data"]
    assert (data["completedLessons"], data["totalLessons"], data["progressPercent"]) == (
        1,
        3,
        33.33,
    )
