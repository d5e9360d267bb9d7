"""The catalogue through the REST gateway, with every service in-process (SQLite and PostgreSQL):
an instructor builds and publishes a course, a student finds it, enrols, learns and reviews it."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.support import eventually

pytestmark = pytest.mark.integration

INSTRUCTOR = uuid.uuid4()
OTHER_INSTRUCTOR = uuid.uuid4()
STUDENT = uuid.uuid4()


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code, body
    return body


async def _published_course(
    gateway: httpx.AsyncClient,
    tokens: Any,
    title: str,
    instructor_id: uuid.UUID = INSTRUCTOR,
    **fields: Any,
) -> dict[str, Any]:
    owner = tokens.instructor(instructor_id)
    body = {"title": title, "description": "All about it", **fields}
    course = ok(await gateway.post("/api/v1/courses", json=body, headers=owner), 201)
    section = ok(
        await gateway.post(
            f"/api/v1/courses/{course['id']}/sections", json={"title": "Start"}, headers=owner
        ),
        201,
    )
    ok(
        await gateway.post(
            f"/api/v1/sections/{section['id']}/lessons",
            json={"title": "One", "durationSeconds": 60},
            headers=owner,
        ),
        201,
    )
    return ok(await gateway.post(f"/api/v1/courses/{course['id']}:publish", headers=owner))


async def test_instructor_publishes_and_student_learns_and_reviews(gateway, tokens):
    admin, owner = tokens.admin(), tokens.instructor(INSTRUCTOR)
    student = tokens.student(STUDENT)
    anonymous: dict[str, str] = {}
    category = ok(
        await gateway.post(
            "/api/v1/categories", json={"name": "Systems Programming"}, headers=admin
        ),
        201,
    )
    assert category["slug"] == "systems-programming"
    draft = ok(
        await gateway.post(
            "/api/v1/courses",
            json={
                "title": "Fearless Rust",
                "shortDescription": "Ownership without tears",
                "categoryId": category["id"],
                "difficulty": "intermediate",
                "tags": ["Rust", "systems"],
            },
            headers=owner,
        ),
        201,
    )
    course_id = draft["id"]
    assert draft["status"] == "draft"
    assert draft["category"] == {
        "id": category["id"],
        "name": "Systems Programming",
        "slug": "systems-programming",
    }

    refused = error(
        await gateway.post(f"/api/v1/courses/{course_id}:publish", headers=owner),
        400,
        "COURSE_NOT_PUBLISHABLE",
    )
    assert {d["field"] for d in refused["details"]} == {"description", "sections"}

    patched = await gateway.patch(
        f"/api/v1/courses/{course_id}",
        json={"description": "Borrowing, lifetimes and fearless concurrency."},
        headers={**owner, "if-match": f'"{draft["version"]}"'},
    )
    assert patched.headers["etag"] == f'"{draft["version"] + 1}"'
    section = ok(
        await gateway.post(
            f"/api/v1/courses/{course_id}/sections", json={"title": "Basics"}, headers=owner
        ),
        201,
    )
    preview = ok(
        await gateway.post(
            f"/api/v1/sections/{section['id']}/lessons",
            json={
                "title": "Why Rust",
                "durationSeconds": 120,
                "isPreview": True,
                "videoUrl": "https://videos.example/why.mp4",
            },
            headers=owner,
        ),
        201,
    )
    lesson = ok(
        await gateway.post(
            f"/api/v1/sections/{section['id']}/lessons",
            json={
                "title": "Ownership",
                "durationSeconds": 600,
                "videoUrl": "https://videos.example/own.mp4",
                "resources": [{"title": "Book", "url": "https://doc.rust-lang.org/book/"}],
            },
            headers=owner,
        ),
        201,
    )
    question = ok(
        await gateway.post(
            f"/api/v1/lessons/{lesson['id']}/quiz-questions",
            json={
                "prompt": "Who frees a Box?",
                "options": ["The GC", "Its owner", "Nobody"],
                "correctOption": 1,
                "explanation": "Drop runs when the owner goes out of scope",
                "timestampSeconds": 300,
            },
            headers=owner,
        ),
        201,
    )
    assert question["correctOption"] == 1
    published = ok(await gateway.post(f"/api/v1/courses/{course_id}:publish", headers=owner))
    assert published["status"] == "published"
    assert (published["lessonCount"], published["durationSeconds"]) == (2, 720)
    assert [[x["title"] for x in s["lessons"]] for s in published["sections"]] == [
        ["Why Rust", "Ownership"]
    ]

    # The student finds it by list, search and filters.
    for query in (
        "",
        "?q=fearless",
        "?q=RUST",
        f"?categoryId={category['id']}",
        "?difficulty=intermediate&isFree=true&tag=rust&orderBy=popular",
    ):
        listed = await gateway.get(f"/api/v1/courses{query}", headers=student)
        assert [c["id"] for c in ok(listed)] == [course_id], query
        assert listed.json()["meta"]["pagination"]["totalSize"] == 1
    assert ok(await gateway.get("/api/v1/courses?q=haskell")) == []
    assert ok(await gateway.get("/api/v1/courses?difficulty=beginner")) == []
    item = ok(await gateway.get("/api/v1/courses"))[0]
    assert item["category"]["name"] == "Systems Programming"
    assert item["instructor"]["id"] == str(INSTRUCTOR)

    page = ok(await gateway.get(f"/api/v1/courses/{published['slug']}", headers=anonymous))
    assert page["viewer"] is None
    assert ok(await gateway.get(f"/api/v1/courses/{course_id}", headers=student))["viewer"] == {
        "isEnrolled": False,
        "enrollmentStatus": None,
        "progressPercent": 0.0,
    }
    assert ok(await gateway.get(f"/api/v1/lessons/{preview['id']}"))["videoUrl"].endswith("why.mp4")
    error(
        await gateway.get(f"/api/v1/lessons/{lesson['id']}", headers=student), 403, "NOT_ENROLLED"
    )

    enrollment = ok(
        await gateway.post(f"/api/v1/courses/{course_id}/enrollment", headers=student), 201
    )
    assert enrollment["status"] == "active"  # a free course
    error(
        await gateway.post(f"/api/v1/courses/{course_id}/enrollment", headers=student),
        409,
        "ALREADY_ENROLLED",
    )
    read = ok(await gateway.get(f"/api/v1/lessons/{lesson['id']}", headers=student))
    assert read["resources"] == [{"title": "Book", "url": "https://doc.rust-lang.org/book/"}]
    [hidden] = read["quizQuestions"]
    assert hidden["correctOption"] is None
    assert hidden["explanation"] is None

    attempt = ok(
        await gateway.post(
            f"/api/v1/quiz-questions/{question['id']}/attempts",
            json={"selectedOption": 0, "timeSpentSeconds": 7},
            headers=student,
        ),
        201,
    )
    assert (attempt["correct"], attempt["correctOption"]) == (False, 1)
    assert attempt["explanation"].startswith("Drop runs")

    review = {"rating": 4, "title": "Solid", "comment": "Clear explanations"}
    ok(
        await gateway.post(f"/api/v1/courses/{course_id}/reviews", json=review, headers=student),
        201,
    )
    error(
        await gateway.post(f"/api/v1/courses/{course_id}/reviews", json=review, headers=student),
        409,
        "REVIEW_ALREADY_EXISTS",
    )
    rated = ok(await gateway.get(f"/api/v1/courses/{course_id}", headers=student))
    assert (rated["ratingAverage"], rated["ratingCount"], rated["enrollmentCount"]) == (4.0, 1, 1)
    assert rated["viewer"] == {
        "isEnrolled": True,
        "enrollmentStatus": "active",
        "progressPercent": 0.0,
    }
    reviews = await gateway.get(f"/api/v1/courses/{course_id}/reviews")
    assert [r["rating"] for r in ok(reviews)] == [4]
    assert reviews.json()["meta"]["ratingHistogram"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}

    mine = ok(await gateway.get("/api/v1/me/enrollments", headers=student))
    assert [(e["course"]["id"], e["status"]) for e in mine] == [(course_id, "active")]
    students = ok(await gateway.get(f"/api/v1/courses/{course_id}/students", headers=owner))
    assert [s["userId"] for s in students] == [str(STUDENT)]
    teaching = ok(await gateway.get("/api/v1/me/teaching", headers=owner))
    assert [(t["id"], t["enrollmentCount"], t["ratingAverage"]) for t in teaching] == [
        (course_id, 1, 4.0)
    ]


async def test_denials(gateway, tokens):
    owner, other = tokens.instructor(INSTRUCTOR), tokens.instructor(OTHER_INSTRUCTOR)
    student = tokens.student(STUDENT)
    error(
        await gateway.post("/api/v1/courses", json={"title": "Mine"}, headers=student),
        403,
        "PERMISSION_DENIED",
    )
    draft = ok(await gateway.post("/api/v1/courses", json={"title": "Hidden"}, headers=owner), 201)
    callers: list[dict[str, str]] = [{}, student, other]
    for headers in callers:
        error(
            await gateway.get(f"/api/v1/courses/{draft['id']}", headers=headers),
            404,
            "COURSE_NOT_FOUND",
        )
    error(
        await gateway.patch(f"/api/v1/courses/{draft['id']}", json={"title": "x"}, headers=other),
        404,
        "COURSE_NOT_FOUND",
    )
    published = await _published_course(gateway, tokens, "Visible")
    error(
        await gateway.patch(
            f"/api/v1/courses/{published['id']}", json={"title": "Stolen"}, headers=other
        ),
        403,
        "PERMISSION_DENIED",
    )
    error(
        await gateway.post(f"/api/v1/courses/{draft['id']}/enrollment", headers=student),
        404,
        "COURSE_NOT_FOUND",
    )
    error(await gateway.get("/api/v1/courses?pageToken=forged"), 400, "INVALID_PAGE_TOKEN")
    error(await gateway.get("/api/v1/courses?orderBy=cheapest"), 400, "VALIDATION_FAILED")


async def test_page_tokens_walk_the_list_and_are_bound_to_the_filter(gateway, tokens):
    for index in range(3):
        await _published_course(gateway, tokens, f"Paged {index}", price=f"{10 + index}.00")
    first = await gateway.get("/api/v1/courses?pageSize=2&orderBy=price")
    assert [c["price"] for c in ok(first)] == ["10.00", "11.00"]
    pagination = first.json()["meta"]["pagination"]
    assert pagination["totalSize"] == 3
    token = pagination["nextPageToken"]
    second = await gateway.get(f"/api/v1/courses?pageSize=2&orderBy=price&pageToken={token}")
    assert [c["price"] for c in ok(second)] == ["12.00"]
    assert second.json()["meta"]["pagination"]["nextPageToken"] == ""
    error(
        await gateway.get(f"/api/v1/courses?pageSize=2&orderBy=-price&pageToken={token}"),
        400,
        "INVALID_PAGE_TOKEN",
    )


async def test_paid_course_waits_for_payment_before_lessons_open(gateway, tokens):
    student, admin = tokens.student(STUDENT), tokens.admin()
    course = await _published_course(gateway, tokens, "Premium", price="49.00")
    lesson_id = course["sections"][0]["lessons"][0]["id"]
    pending = ok(
        await gateway.post(f"/api/v1/courses/{course['id']}/enrollment", headers=student), 201
    )
    assert pending["status"] == "pending_payment"
    error(await gateway.get(f"/api/v1/lessons/{lesson_id}", headers=student), 403, "NOT_ENROLLED")
    error(
        await gateway.post(f"/api/v1/enrollments/{pending['id']}:activate", headers=student),
        403,
        "PERMISSION_DENIED",
    )
    active = ok(await gateway.post(f"/api/v1/enrollments/{pending['id']}:activate", headers=admin))
    assert active["status"] == "active"
    ok(await gateway.get(f"/api/v1/lessons/{lesson_id}", headers=student))
    ok(await gateway.delete(f"/api/v1/courses/{course['id']}/enrollment", headers=student))
    mine = ok(await gateway.get("/api/v1/me/enrollments?status=cancelled", headers=student))
    assert [e["status"] for e in mine] == ["cancelled"]
    assert ok(await gateway.get(f"/api/v1/courses/{course['id']}"))["enrollmentCount"] == 0


async def test_soft_delete_restore_and_duplicate(gateway, tokens):
    owner, admin = tokens.instructor(INSTRUCTOR), tokens.admin()
    course = await _published_course(gateway, tokens, "Short Lived")
    assert ok(await gateway.delete(f"/api/v1/courses/{course['id']}", headers=owner)) is None
    error(await gateway.get(f"/api/v1/courses/{course['slug']}"), 404, "COURSE_NOT_FOUND")
    error(
        await gateway.get(f"/api/v1/courses/{course['id']}", headers=owner), 404, "COURSE_NOT_FOUND"
    )
    assert ok(await gateway.get("/api/v1/courses")) == []
    assert ok(await gateway.get("/api/v1/me/teaching", headers=owner)) == []
    restored = ok(await gateway.post(f"/api/v1/courses/{course['id']}:restore", headers=admin))
    assert restored["deletedAt"] is None
    assert [c["id"] for c in ok(await gateway.get("/api/v1/courses"))] == [course["id"]]

    copy = ok(await gateway.post(f"/api/v1/courses/{course['id']}:duplicate", headers=owner), 201)
    assert copy["status"] == "draft"
    assert copy["slug"] != course["slug"]
    assert copy["id"] != course["id"]
    assert copy["title"] == "Short Lived (copy)"
    assert [s["title"] for s in copy["sections"]] == ["Start"]
    assert copy["lessonCount"] == 1
    assert copy["enrollmentCount"] == 0


async def test_stale_versions_conflict_and_concurrent_patches_let_one_win(gateway, tokens):
    owner = tokens.instructor(INSTRUCTOR)
    course = ok(await gateway.post("/api/v1/courses", json={"title": "Racy"}, headers=owner), 201)
    path = f"/api/v1/courses/{course['id']}"
    ok(await gateway.patch(path, json={"title": "Racy 2", "version": 1}, headers=owner))
    error(
        await gateway.patch(path, json={"title": "Late", "version": 1}, headers=owner),
        409,
        "VERSION_CONFLICT",
    )
    error(
        await gateway.patch(path, json={"title": "Late"}, headers={**owner, "if-match": '"1"'}),
        409,
        "VERSION_CONFLICT",
    )
    answers = await asyncio.gather(
        *(
            gateway.patch(path, json={"title": f"Writer {n}", "version": 2}, headers=owner)
            for n in range(2)
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    final = ok(await gateway.get(path, headers=owner))
    assert final["version"] == 3
    winner = next(a for a in answers if a.status_code == 200).json()["data"]
    assert final["title"] == winner["title"]


async def test_instructor_profile_changes_reach_course_pages_within_a_second(gateway, tokens):
    email = f"grace-{uuid.uuid4().hex[:8]}@example.com"
    registered = ok(
        await gateway.post(
            "/api/v1/auth/register",
            json={"email": email, "password": "a long enough passphrase", "fullName": "G H"},
        ),
        201,
    )
    user_id = uuid.UUID(registered["user"]["id"])
    course = await _published_course(gateway, tokens, "Compilers", instructor_id=user_id)
    assert ok(await gateway.get(f"/api/v1/courses/{course['id']}"))["instructor"]["id"] == str(
        user_id
    )
    me = {"authorization": f"Bearer {registered['accessToken']}"}
    ok(await gateway.patch("/api/v1/me", json={"displayName": "Grace Hopper"}, headers=me))

    async def shown() -> bool:
        page = ok(await gateway.get(f"/api/v1/courses/{course['id']}"))
        listed = ok(await gateway.get("/api/v1/courses?q=compilers"))
        names = {page["instructor"]["displayName"], listed[0]["instructor"]["displayName"]}
        return names == {"Grace Hopper"}

    await eventually(shown, timeout=1.0, interval=0.02)
