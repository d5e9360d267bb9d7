"""What students, instructors and admins read after a few students learned."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.analytics.domain.metrics import week_start
from unpuzzle.analytics.v1 import analytics_service_pb2
from unpuzzle.course.v1 import course_events_pb2

pytestmark = pytest.mark.integration


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def _batch(api, headers, *beats):
    response = await api.post(
        "/api/v1/progress:batch",
        json={
            "heartbeats": [
                {"lessonId": str(lesson), "positionSeconds": s, "watchedSeconds": s, "sentAt": at}
                for lesson, s, at in beats
            ]
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["meta"]["rejected"] == []


async def _answer(feed, course, lesson, student, correct: bool) -> None:
    await feed.publish(
        "quiz.attempted",
        course_events_pb2.QuizAttempted(
            attempt_id=str(uuid.uuid4()),
            question_id=str(uuid.uuid4()),
            lesson_id=str(lesson),
            course_id=str(course.course_id),
            user_id=str(student),
            correct=correct,
        ),
        aggregate="quiz_attempt",
        aggregate_id=uuid.uuid4(),
    )


async def test_instructor_analytics_student_progress_and_export(api, stub, feed, tokens):
    course = await feed.course([100, 200])
    first, second = course.lessons
    finisher, quitter, sampler, idle = (uuid.uuid4() for _ in range(4))
    for student in (finisher, quitter, sampler, idle):
        await feed.enrol(course, student)
    await feed.settle()
    now = _stamp(datetime.now(UTC))
    await _batch(api, tokens.student(finisher), (first, 100, now), (second, 200, now))
    await _batch(api, tokens.student(quitter), (first, 35, now))
    await _batch(api, tokens.student(sampler), (first, 50, now))
    await _answer(feed, course, first, finisher, correct=True)
    await _answer(feed, course, first, quitter, correct=False)
    await feed.settle()

    owner = tokens.instructor(course.instructor_id)
    response = await api.get(
        f"/api/v1/instructor/courses/{course.course_id}/analytics", headers=owner
    )
    assert response.status_code == 200, response.text
    view = response.json()["data"]
    assert (view["enrollments"], view["activeStudents7d"]) == (4, 3)
    assert (view["completionRate"], view["averageProgress"]) == (25.0, 25.0)
    today = view["daily"][-1]
    assert today == {
        "date": datetime.now(UTC).date().isoformat(),
        "enrollments": 4,
        "activeStudents": 3,
        "watchSeconds": 385,
    }
    assert len(view["daily"]) == 30
    assert view["to"] == today["date"]
    lesson = view["lessons"][0]
    assert lesson["lessonId"] == str(first)
    assert (lesson["views"], lesson["averageWatchSeconds"]) == (3, 61.67)
    assert lesson["completionRate"] == 25.0
    assert lesson["dropOff"] == [0, 0, 0, 33.33, 0, 33.33, 0, 0, 0, 33.33]
    assert (lesson["quizAttempts"], lesson["quizAccuracy"]) == (2, 50.0)

    student = await api.get(
        f"/api/v1/instructor/courses/{course.course_id}/students/{finisher}/progress",
        headers=owner,
    )
    data = student.json()["data"]
    assert (data["enrollmentStatus"], data["progressPercent"]) == ("active", 100.0)
    assert [row["completed"] for row in data["lessons"]] == [True, True]
    assert data["lessons"][0]["quiz"] == {"attempts": 1, "correct": 1}

    export = await stub.ExportCourseAnalytics(
        analytics_service_pb2.ExportCourseAnalyticsRequest(course_id=str(course.course_id)),
        metadata=tokens.metadata(owner),
    )
    assert export.content_type == "text/csv; charset=utf-8"
    assert export.filename.startswith(f"course-{course.course_id}-progress-")
    rows = {row["student_id"]: row for row in csv.DictReader(io.StringIO(export.content))}
    assert set(rows) == {str(s) for s in (finisher, quitter, sampler, idle)}
    assert rows[str(finisher)]["progress_percent"] == "100.00"
    assert rows[str(finisher)]["time_spent_seconds"] == "300"
    assert rows[str(quitter)]["quiz_attempts"] == "1"
    assert rows[str(idle)]["last_activity_at"] == ""

    path = f"/api/v1/instructor/courses/{course.course_id}/analytics:export"
    download = await api.get(path, headers=owner)
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert download.headers["content-disposition"] == f'attachment; filename="{export.filename}"'
    assert download.text == export.content  # the document itself, not an envelope
    stranger = await api.get(path, headers=tokens.instructor(uuid.uuid4()))
    assert stranger.status_code == 403
    assert stranger.json()["error"]["code"] == "PERMISSION_DENIED"


async def test_dashboard_counts_today_this_week_and_the_streak(api, feed, tokens):
    course = await feed.course([3600])
    [lesson] = course.lessons
    student = uuid.uuid4()
    await feed.enrol(course, student)
    await feed.settle()
    headers = tokens.student(student)
    now = datetime.now(UTC)
    # Cumulative watched time on four days: a gap, then three days in a row up to today.
    watched_by_day = {5: 60, 2: 180, 1: 300, 0: 420}
    await _batch(
        api,
        headers,
        *[(lesson, s, _stamp(now - timedelta(days=n))) for n, s in watched_by_day.items()],
    )
    response = await api.get("/api/v1/me/dashboard", headers=headers)
    view = response.json()["data"]
    assert view["currentStreakDays"] == 3
    assert view["timeSpentTodaySeconds"] == 120
    added = {5: 60, 2: 120, 1: 120, 0: 120}
    monday = week_start(now.date())
    week = sum(s for n, s in added.items() if (now - timedelta(days=n)).date() >= monday)
    assert view["timeSpentThisWeekSeconds"] == week
    [in_progress] = view["coursesInProgress"]
    assert (in_progress["courseId"], in_progress["progressPercent"]) == (str(course.course_id), 0)
    [recent] = view["recentActivity"]
    assert (recent["lessonTitle"], recent["courseTitle"]) == ("Lesson 1", "Rust for Pythonistas")


async def test_admin_metrics_count_signups_enrolments_learners_and_completions(api, feed, tokens):
    course = await feed.course([10])
    [lesson] = course.lessons
    students = [uuid.uuid4(), uuid.uuid4()]
    for student in students:
        await feed.register(student, "student")
        await feed.enrol(course, student)
    await feed.settle()
    done = await api.post(
        f"/api/v1/lessons/{lesson}:complete", json={}, headers=tokens.student(students[0])
    )
    assert done.status_code == 200, done.text
    today = datetime.now(UTC).date().isoformat()
    response = await api.get(
        f"/api/v1/admin/metrics?from={today}&to={today}", headers=tokens.admin()
    )
    assert response.json()["data"] == {
        "from": today,
        "to": today,
        "days": [
            {
                "date": today,
                "signups": 2,
                "enrollments": 2,
                "activeLearners": 1,
                "lessonsCompleted": 1,
            }
        ],
    }
