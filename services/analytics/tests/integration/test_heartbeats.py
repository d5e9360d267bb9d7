"""Heartbeats through the gateway: monotonic, idempotent, concurrent, completion at 90 %."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from services.analytics.adapters.tables import outbox
from services.analytics.bootstrap import AnalyticsService
from tests.support import eventually
from unpuzzle.analytics.v1 import analytics_events_pb2, analytics_service_pb2
from unpuzzle.common.v1 import events_pb2
from unpuzzle.course.v1 import course_pb2

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _data(response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json()["data"]


def _error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text


async def _beat(api, headers, lesson_id, position, watched, sent_at=None):
    body = {"positionSeconds": position, "watchedSeconds": watched, "playbackSpeed": 1.0}
    if sent_at is not None:
        body["sentAt"] = sent_at
    return await api.put(f"/api/v1/lessons/{lesson_id}/progress", json=body, headers=headers)


async def _events(service: AnalyticsService) -> list[tuple[str, events_pb2.EventEnvelope]]:
    async with service.infra.database.connect(read_only=True) as connection:
        rows = await connection.execute(
            sa.select(outbox.c.event_type, outbox.c.payload).order_by(outbox.c.seq)
        )
        return [(row[0], events_pb2.EventEnvelope.FromString(row[1])) for row in rows]


async def test_out_of_order_heartbeat_never_lowers_progress(api, feed, tokens):
    course = await feed.course([600])
    student = uuid.uuid4()
    await feed.enrol(course, student)
    await feed.settle()
    [lesson] = course.lessons
    headers = tokens.student(student)

    first = _data(await _beat(api, headers, lesson, 30, 40, _at(40)))
    assert (first["positionSeconds"], first["watchedSeconds"]) == (30, 40)
    older = _data(await _beat(api, headers, lesson, 10, 20, _at(20)))
    assert older["positionSeconds"] == 30
    assert older["watchedSeconds"] == 40
    assert older["maxPositionSeconds"] == 30
    seek_back = _data(await _beat(api, headers, lesson, 5, 45, _at(45)))
    assert seek_back["positionSeconds"] == 5  # resume where the newest heartbeat was
    assert seek_back["maxPositionSeconds"] == 30
    assert seek_back["watchedSeconds"] == 45
    assert seek_back["completed"] is False


async def test_lesson_completes_at_90_percent_and_progress_events_follow(
    api, feed, tokens, analytics
):
    course = await feed.course([100, 100])
    student = uuid.uuid4()
    await feed.enrol(course, student)
    await feed.settle()
    first, second = course.lessons
    headers = tokens.student(student)

    assert _data(await _beat(api, headers, first, 89, 89))["completed"] is False
    done = _data(await _beat(api, headers, first, 90, 90))
    assert done["completed"] is True
    assert done["completedAt"] is not None
    again = _data(await _beat(api, headers, first, 95, 95))
    assert again["completedAt"] == done["completedAt"]  # completion is reported once

    progress = _data(
        await api.get(f"/api/v1/me/courses/{course.course_id}/progress", headers=headers)
    )
    assert progress["progressPercent"] == 50.0
    assert (progress["completedLessons"], progress["totalLessons"]) == (1, 2)
    assert progress["lastLesson"] == {"id": str(first), "positionSeconds": 95}
    assert progress["timeSpentSeconds"] == 95

    explicit = await api.post(f"/api/v1/lessons/{second}:complete", json={}, headers=headers)
    assert _data(explicit)["completed"] is True
    progress = _data(
        await api.get(f"/api/v1/me/courses/{course.course_id}/progress", headers=headers)
    )
    assert progress["progressPercent"] == 100.0
    assert progress["completedAt"] is not None

    published = await _events(analytics)
    assert [kind for kind, _ in published] == [
        "lesson.completed",
        "course.progress_updated",
        "lesson.completed",
        "course.progress_updated",
        "course.completed",
    ]
    envelopes = [envelope for _, envelope in published]
    assert {e.aggregate_id for e in envelopes} == {f"{student}:{course.course_id}"}
    assert [e.aggregate_version for e in envelopes] == [1, 2, 3, 4, 5]
    update = analytics_events_pb2.CourseProgressUpdated()
    assert envelopes[3].payload.Unpack(update)
    assert (update.user_id, update.course_id) == (str(student), str(course.course_id))
    assert (update.progress_percent, update.completed_lessons, update.total_lessons) == (
        100.0,
        2,
        2,
    )

    async def relayed() -> bool:  # the relay handed every event to JetStream
        async with analytics.infra.database.connect(read_only=True) as connection:
            unsent = sa.select(sa.func.count()).where(outbox.c.sent_at.is_(None))
            return await connection.scalar(unsent) == 0

    await eventually(relayed)


async def test_duplicate_batch_is_harmless(api, feed, tokens, analytics):
    course = await feed.course([300, 100])
    student = uuid.uuid4()
    await feed.enrol(course, student)
    await feed.settle()
    long, short = course.lessons
    headers = tokens.student(student)
    batch = {
        "heartbeats": [
            {"lessonId": str(long), "positionSeconds": 60, "watchedSeconds": 60, "sentAt": _at(60)},
            {
                "lessonId": str(short),
                "positionSeconds": 95,
                "watchedSeconds": 95,
                "sentAt": _at(400),
            },
            {"lessonId": str(long), "positionSeconds": 20, "watchedSeconds": 20, "sentAt": _at(20)},
            {
                "lessonId": str(long),
                "positionSeconds": 120,
                "watchedSeconds": 120,
                "sentAt": _at(120),
            },
        ]
    }
    first = _data(await api.post("/api/v1/progress:batch", json=batch, headers=headers))
    second = await api.post("/api/v1/progress:batch", json=batch, headers=headers)
    assert _data(second) == [
        {**item, "updatedAt": again["updatedAt"]}
        for item, again in zip(first, _data(second), strict=True)
    ]
    by_lesson = {item["lessonId"]: item for item in _data(second)}
    assert by_lesson[str(long)]["watchedSeconds"] == 120
    assert by_lesson[str(long)]["positionSeconds"] == 120
    assert by_lesson[str(short)]["completed"] is True
    assert second.json()["meta"]["rejected"] == []

    kinds = [kind for kind, _ in await _events(analytics)]
    assert kinds.count("lesson.completed") == 1
    admin = tokens.admin()
    day = T0.date().isoformat()
    metrics = _data(await api.get(f"/api/v1/admin/metrics?from={day}&to={day}", headers=admin))
    assert metrics["days"] == [
        {"date": day, "signups": 0, "enrollments": 0, "activeLearners": 1, "lessonsCompleted": 1}
    ]
    analytics_view = _data(
        await api.get(
            f"/api/v1/instructor/courses/{course.course_id}/analytics?from={day}&to={day}",
            headers=admin,
        )
    )
    # Watch time counted once: 120 s of the long lesson and 95 s of the short one.
    assert analytics_view["daily"][0]["watchSeconds"] == 215


async def test_concurrent_heartbeats_for_one_lesson_keep_the_max(stub, feed, tokens, analytics):
    course = await feed.course([1000])
    student = uuid.uuid4()
    await feed.enrol(course, student)
    await feed.settle()
    [lesson] = course.lessons
    metadata = tokens.metadata(tokens.student(student))
    watched = list(range(10, 410, 10))
    random.shuffle(watched)

    async def beat(seconds: int) -> None:
        await stub.RecordHeartbeat(
            analytics_service_pb2.RecordHeartbeatRequest(
                lesson_id=str(lesson), position_seconds=seconds, watched_seconds=seconds
            ),
            metadata=metadata,
        )

    await asyncio.gather(*(beat(seconds) for seconds in watched))
    final = await stub.RecordHeartbeat(
        analytics_service_pb2.RecordHeartbeatRequest(lesson_id=str(lesson)), metadata=metadata
    )
    assert final.progress.watched_seconds == 400
    assert final.progress.max_position_seconds == 400
    dashboard = await stub.GetMyDashboard(
        analytics_service_pb2.GetMyDashboardRequest(), metadata=metadata
    )
    # The deltas of all writes add up to the maximum: no increase was counted twice or lost.
    assert dashboard.dashboard.time_spent_today_seconds == 400


async def test_progress_needs_an_active_enrolment(api, feed, tokens):
    course = await feed.course([100])
    paying, stranger = uuid.uuid4(), uuid.uuid4()
    await feed.enrol(course, paying, status=course_pb2.ENROLLMENT_STATUS_PENDING_PAYMENT)
    await feed.settle()
    [lesson] = course.lessons

    _error(await _beat(api, tokens.student(stranger), lesson, 1, 1), 403, "NOT_ENROLLED")
    _error(await _beat(api, tokens.student(paying), lesson, 1, 1), 403, "NOT_ENROLLED")
    _error(await _beat(api, tokens.student(paying), uuid.uuid4(), 1, 1), 404, "LESSON_NOT_FOUND")
    _error(
        await api.post(
            f"/api/v1/lessons/{lesson}:complete", json={}, headers=tokens.student(paying)
        ),
        403,
        "NOT_ENROLLED",
    )
    _error(await _beat(api, {}, lesson, 1, 1), 401, "UNAUTHENTICATED")

    unknown = uuid.uuid4()
    batch = await api.post(
        "/api/v1/progress:batch",
        json={
            "heartbeats": [
                {"lessonId": str(lesson), "positionSeconds": 1, "sentAt": _at(1)},
                {"lessonId": str(unknown), "positionSeconds": 1, "sentAt": _at(1)},
            ]
        },
        headers=tokens.student(paying),
    )
    assert _data(batch) == []
    assert sorted(batch.json()["meta"]["rejected"], key=lambda r: r["reason"]) == [
        {"lessonId": str(unknown), "reason": "LESSON_NOT_FOUND"},
        {"lessonId": str(lesson), "reason": "NOT_ENROLLED"},
    ]


async def test_batch_is_validated_item_by_item(api, tokens):
    headers = tokens.student()
    lesson = str(uuid.uuid4())
    missing = await api.post(
        "/api/v1/progress:batch",
        json={"heartbeats": [{"lessonId": lesson, "positionSeconds": -1}]},
        headers=headers,
    )
    assert missing.status_code == 400
    fields = {d["field"] for d in missing.json()["error"]["details"]}
    assert fields == {"heartbeats[0].positionSeconds", "heartbeats[0].sentAt"}
    too_many = await api.post(
        "/api/v1/progress:batch",
        json={"heartbeats": [{"lessonId": lesson, "sentAt": _at(0)}] * 101},
        headers=headers,
    )
    _error(too_many, 400, "VALIDATION_FAILED")
