"""BOLA: students see only their own progress, instructors only their own courses' analytics."""

from __future__ import annotations

import uuid

import grpc
import pytest

from unpuzzle.analytics.v1 import analytics_service_pb2

pytestmark = pytest.mark.integration


def _code(response) -> tuple[int, str | None]:
    body = response.json()
    return response.status_code, None if body["ok"] else body["error"]["code"]


@pytest.fixture
async def course(feed, api, tokens):
    """A course with two enrolled students; Bob watched a lesson."""
    course = await feed.course([100])
    alice, bob = uuid.uuid4(), uuid.uuid4()
    await feed.enrol(course, alice)
    await feed.enrol(course, bob)
    await feed.settle()
    [lesson] = course.lessons
    watched = await api.put(
        f"/api/v1/lessons/{lesson}/progress",
        json={"positionSeconds": 50, "watchedSeconds": 50},
        headers=tokens.student(bob),
    )
    assert watched.status_code == 200, watched.text
    course.alice, course.bob = alice, bob
    return course


async def test_student_cannot_read_another_students_progress(api, tokens, course):
    alice = tokens.student(course.alice)
    own = await api.get(f"/api/v1/me/courses/{course.course_id}/progress", headers=alice)
    assert own.status_code == 200
    assert own.json()["data"]["timeSpentSeconds"] == 0  # Alice's, not Bob's
    bobs = f"/api/v1/instructor/courses/{course.course_id}/students/{course.bob}/progress"
    assert _code(await api.get(bobs, headers=alice)) == (403, "PERMISSION_DENIED")
    outsider = tokens.student()
    mine = f"/api/v1/me/courses/{course.course_id}/progress"
    assert _code(await api.get(mine, headers=outsider)) == (403, "NOT_ENROLLED")
    assert _code(await api.get("/api/v1/me/dashboard")) == (401, "UNAUTHENTICATED")


async def test_instructor_cannot_read_analytics_of_someone_elses_course(api, stub, tokens, course):
    other = tokens.instructor()
    base = f"/api/v1/instructor/courses/{course.course_id}"
    for path in (f"{base}/analytics", f"{base}/students/{course.bob}/progress"):
        assert _code(await api.get(path, headers=other)) == (403, "PERMISSION_DENIED")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.ExportCourseAnalytics(
            analytics_service_pb2.ExportCourseAnalyticsRequest(course_id=str(course.course_id)),
            metadata=tokens.metadata(other),
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    missing = f"/api/v1/instructor/courses/{uuid.uuid4()}/analytics"
    assert _code(await api.get(missing, headers=other)) == (404, "COURSE_NOT_FOUND")

    owner = tokens.instructor(course.instructor_id)
    for headers in (owner, tokens.admin()):
        assert (await api.get(f"{base}/analytics", headers=headers)).status_code == 200
        progress = await api.get(f"{base}/students/{course.bob}/progress", headers=headers)
        assert progress.json()["data"]["timeSpentSeconds"] == 50
    never = f"{base}/students/{uuid.uuid4()}/progress"
    assert _code(await api.get(never, headers=owner)) == (404, "ENROLLMENT_NOT_FOUND")


async def test_platform_stats_are_public_and_admin_metrics_are_not(api, tokens, analytics):
    assert (await api.get("/api/v1/stats/platform")).status_code == 200
    assert _code(await api.get("/api/v1/admin/metrics")) == (401, "UNAUTHENTICATED")
    refused = await api.get("/api/v1/admin/metrics", headers=tokens.instructor())
    assert _code(refused) == (403, "PERMISSION_DENIED")
    assert (await api.get("/api/v1/admin/metrics", headers=tokens.admin())).status_code == 200
