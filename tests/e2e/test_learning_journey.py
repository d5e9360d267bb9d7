"""Publish -> enrol -> heartbeats -> complete, through the gateway with every service in-process.

The student's progress, the enrolment's progressPercent (course service, fed by analytics
events), the instructor's analytics and the platform totals must reflect the journey, and every
hop through NATS (course -> analytics, analytics -> course) must become visible quickly: the test
measures publish-to-visible delays and asserts their p99 stays under a second.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

STUDENTS = 5
LESSON_SECONDS = (120, 60)
POLL_SECONDS = 0.01


def _data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


async def _visible_after(
    what: str, probe: Callable[[], Awaitable[bool]], timeout: float = 5.0
) -> float:
    """Seconds until `probe()` holds (polling); fails after `timeout`."""
    started = time.perf_counter()
    while not await probe():
        if time.perf_counter() - started > timeout:
            raise AssertionError(f"{what}: not visible after {timeout} s")
        await asyncio.sleep(POLL_SECONDS)
    return time.perf_counter() - started


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[math.ceil(0.99 * len(ordered)) - 1]


async def _publish_course(
    gateway: httpx.AsyncClient, instructor: dict[str, str]
) -> tuple[str, list[str]]:
    course = _data(
        await gateway.post(
            "/api/v1/courses",
            json={
                "title": f"Learning journey {uuid.uuid4().hex[:6]}",
                "description": "Two lessons to watch end to end.",
                "price": "0",
            },
            headers=instructor,
        ),
        201,
    )
    section = _data(
        await gateway.post(
            f"/api/v1/courses/{course['id']}/sections", json={"title": "Basics"}, headers=instructor
        ),
        201,
    )
    lessons = []
    for number, seconds in enumerate(LESSON_SECONDS, start=1):
        lesson = _data(
            await gateway.post(
                f"/api/v1/sections/{section['id']}/lessons",
                json={
                    "title": f"Lesson {number}",
                    "durationSeconds": seconds,
                    "videoUrl": f"https://videos.example.test/{number}.mp4",
                },
                headers=instructor,
            ),
            201,
        )
        lessons.append(lesson["id"])
    published = _data(
        await gateway.post(f"/api/v1/courses/{course['id']}:publish", json={}, headers=instructor)
    )
    assert published["status"] == "published"
    return course["id"], lessons


async def test_learning_journey_is_reflected_everywhere_within_a_second(gateway, tokens):
    instructor_id = uuid.uuid4()
    instructor = tokens.instructor(instructor_id)
    course_id, lessons = await _publish_course(gateway, instructor)
    delays: list[float] = []

    for _ in range(STUDENTS):
        student = tokens.student(uuid.uuid4())
        enrollment = _data(
            await gateway.post(f"/api/v1/courses/{course_id}/enrollment", json={}, headers=student),
            201,
        )
        assert enrollment["status"] == "active"

        async def beat(lesson: str, seconds: int, student: dict[str, str] = student) -> int:
            response = await gateway.put(
                f"/api/v1/lessons/{lesson}/progress",
                json={"positionSeconds": seconds, "watchedSeconds": seconds, "playbackSpeed": 1},
                headers=student,
            )
            return response.status_code

        # course -> analytics: the enrolment (and the lessons) reach analytics.
        delays.append(
            await _visible_after(
                "enrolment in analytics (heartbeat accepted)", lambda: _ok(beat(lessons[0], 1))
            )
        )

        for lesson, seconds, percent in ((lessons[0], 120, 50.0), (lessons[1], 60, 100.0)):
            for watched in range(seconds // 4, seconds + 1, seconds // 4):
                assert await beat(lesson, watched) == 200

            async def enrolment_shows(
                percent: float = percent, student: dict[str, str] = student
            ) -> bool:
                mine = _data(await gateway.get("/api/v1/me/enrollments", headers=student))
                [found] = [item for item in mine if item["courseId"] == course_id]
                # 100 % comes as course.progress_updated and then course.completed.
                status = "completed" if percent == 100.0 else "active"
                return bool(found["progressPercent"] == percent and found["status"] == status)

            # analytics -> course: course.progress_updated reaches the enrolment.
            delays.append(
                await _visible_after(
                    f"progress {percent} and status in GET /me/enrollments (course service)",
                    enrolment_shows,
                )
            )

        mine = _data(await gateway.get("/api/v1/me/enrollments", headers=student))
        [final] = [item for item in mine if item["courseId"] == course_id]
        assert final["status"] == "completed"
        progress = _data(
            await gateway.get(f"/api/v1/me/courses/{course_id}/progress", headers=student)
        )
        assert (progress["progressPercent"], progress["completedLessons"]) == (100.0, 2)
        assert progress["timeSpentSeconds"] == sum(LESSON_SECONDS)

    analytics = _data(
        await gateway.get(f"/api/v1/instructor/courses/{course_id}/analytics", headers=instructor)
    )
    assert (analytics["enrollments"], analytics["activeStudents7d"]) == (STUDENTS, STUDENTS)
    assert (analytics["completionRate"], analytics["averageProgress"]) == (100.0, 100.0)
    assert analytics["daily"][-1]["watchSeconds"] == STUDENTS * sum(LESSON_SECONDS)
    assert [lesson["views"] for lesson in analytics["lessons"]] == [STUDENTS, STUDENTS]
    assert [lesson["lessonId"] for lesson in analytics["lessons"]] == lessons

    platform = _data(await gateway.get("/api/v1/stats/platform"))
    assert platform["totalCourses"] >= 1
    assert platform["totalEnrollments"] >= STUDENTS

    assert len(delays) == 3 * STUDENTS
    assert _p99(delays) < 1.0, f"event delays (s): {sorted(delays)}"


async def _ok(status: Awaitable[int]) -> bool:
    return await status == 200
