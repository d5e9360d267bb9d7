"""Demo data for `make run`: a living catalogue, seeded once through the public REST API.

Idempotent: when the catalogue already has published courses nothing is done. Everything goes
through the gateway like a real client would (so every service's rules, events and read models
take part): categories, four instructors, about 30 published courses with sections, lessons and
quiz questions, and a few students with enrolments and some progress.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx

_log = logging.getLogger(__name__)

PASSWORD = "demo-password-2026"  # noqa: S105 - demo accounts of the local default only
CATEGORIES = {
    "Programming": ["Python", "Rust", "Web Development"],
    "Data": ["Machine Learning", "Databases"],
    "Design": ["UX Design"],
}
# Four instructors share the ~360 writes of the catalogue: each stays within the default write
# burst of the rate limiter, so a first `make run` does not wait (429s are waited out anyway).
INSTRUCTORS = [
    ("ada@unpuzzle.local", "Ada Lovelace"),
    ("grace@unpuzzle.local", "Grace Hopper"),
    ("barbara@unpuzzle.local", "Barbara Liskov"),
    ("margaret@unpuzzle.local", "Margaret Hamilton"),
]
STUDENTS = [
    ("alan@unpuzzle.local", "Alan Turing"),
    ("katherine@unpuzzle.local", "Katherine Johnson"),
    ("edsger@unpuzzle.local", "Edsger Dijkstra"),
]
TOPICS = [
    ("Python", "Python for Beginners", ["python", "programming"], "beginner", "0"),
    ("Python", "Async Python in Depth", ["python", "asyncio"], "advanced", "49.00"),
    ("Python", "Testing with pytest", ["python", "testing"], "intermediate", "19.99"),
    ("Python", "Type Hints that Pay Off", ["python", "mypy"], "intermediate", "0"),
    ("Python", "Packaging Python Projects", ["python", "packaging"], "intermediate", "15.00"),
    ("Rust", "Rust Fundamentals", ["rust", "systems"], "beginner", "0"),
    ("Rust", "Ownership and Borrowing", ["rust", "memory"], "intermediate", "29.00"),
    ("Rust", "Async Rust with Tokio", ["rust", "async"], "advanced", "59.00"),
    ("Rust", "Rust for Embedded Devices", ["rust", "embedded"], "advanced", "79.00"),
    ("Web Development", "HTML and CSS from Scratch", ["html", "css"], "beginner", "0"),
    ("Web Development", "Modern JavaScript", ["javascript"], "beginner", "9.99"),
    ("Web Development", "React in Practice", ["react", "javascript"], "intermediate", "39.00"),
    ("Web Development", "Accessible Web Apps", ["a11y", "html"], "all", "0"),
    ("Web Development", "HTTP APIs that Last", ["api", "http"], "intermediate", "25.00"),
    ("Web Development", "WebSockets and Realtime", ["websockets"], "advanced", "35.00"),
    ("Machine Learning", "Linear Algebra for ML", ["math", "ml"], "beginner", "0"),
    ("Machine Learning", "Practical Deep Learning", ["ml", "pytorch"], "advanced", "89.00"),
    ("Machine Learning", "Recommender Systems", ["ml", "recsys"], "intermediate", "45.00"),
    ("Machine Learning", "Evaluating Models Honestly", ["ml", "statistics"], "intermediate", "0"),
    ("Machine Learning", "Feature Engineering", ["ml", "data"], "intermediate", "29.00"),
    ("Databases", "SQL Essentials", ["sql", "databases"], "beginner", "0"),
    ("Databases", "PostgreSQL Performance", ["postgresql", "performance"], "advanced", "55.00"),
    ("Databases", "Data Modelling", ["databases", "design"], "intermediate", "19.00"),
    ("Databases", "Transactions and Isolation", ["databases", "concurrency"], "advanced", "0"),
    ("Databases", "Redis Patterns", ["redis", "caching"], "intermediate", "24.00"),
    ("UX Design", "UX Research Basics", ["ux", "research"], "beginner", "0"),
    ("UX Design", "Design Systems", ["ux", "design-systems"], "intermediate", "35.00"),
    ("UX Design", "Prototyping Quickly", ["ux", "prototyping"], "beginner", "12.00"),
    ("UX Design", "Usability Testing", ["ux", "testing"], "intermediate", "0"),
    ("UX Design", "Writing for Interfaces", ["ux", "writing"], "all", "9.00"),
]


class SeedError(RuntimeError):
    """The API refused a seeding step."""


class _PatientTransport(httpx.HTTPTransport):
    """Waits out 429 answers for as long as `Retry-After` says, like a well-behaved client."""

    ATTEMPTS = 30

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send; on 429 sleep `Retry-After` (at most 10 s) and send again."""
        for _ in range(self.ATTEMPTS):
            response = super().handle_request(request)
            if response.status_code != 429:
                return response
            response.read()
            response.close()
            time.sleep(min(10.0, float(response.headers.get("retry-after", "1"))))
        return response


def _data(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        request = response.request
        raise SeedError(
            f"{request.method} {request.url.path}: {response.status_code} {response.text}"
        )
    return response.json()["data"]


@dataclass
class _Account:
    user_id: str
    headers: dict[str, str]
    refresh_token: str


def _sign_in(client: httpx.Client, email: str, password: str) -> _Account:
    session = _data(client.post("/api/v1/auth/login", json={"email": email, "password": password}))
    return _Account(
        session["user"]["id"],
        {"authorization": f"Bearer {session['accessToken']}"},
        session["refreshToken"],
    )


def _account(client: httpx.Client, email: str, name: str) -> _Account:
    response = client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "fullName": name}
    )
    if response.status_code not in {201, 409}:
        _data(response)
    return _sign_in(client, email, PASSWORD)


def _instructor(client: httpx.Client, admin: _Account, email: str, name: str) -> _Account:
    account = _account(client, email, name)
    granted = client.post(
        f"/api/v1/users/{account.user_id}/roles", json={"role": "instructor"}, headers=admin.headers
    )
    if granted.status_code not in {200, 201, 409}:
        _data(granted)
    # A fresh token carries the new role.
    refreshed = _data(
        client.post("/api/v1/auth/refresh", json={"refreshToken": account.refresh_token})
    )
    return _Account(account.user_id, {"authorization": f"Bearer {refreshed['accessToken']}"}, "")


def seed_demo_data(base_url: str, admin_email: str, admin_password: str) -> bool:
    """Seed once; returns False when the catalogue already had courses."""
    rng = random.Random(2026)  # noqa: S311 - a reproducible catalogue, not a secret
    with httpx.Client(base_url=base_url, timeout=30, transport=_PatientTransport()) as client:
        listing = client.get("/api/v1/courses", params={"pageSize": 1})
        if listing.status_code == 200 and listing.json()["meta"]["pagination"]["totalSize"] > 0:
            return False
        admin = _sign_in(client, admin_email, admin_password)
        categories: dict[str, str] = {}
        for parent, children in CATEGORIES.items():
            parent_id = _data(
                client.post("/api/v1/categories", json={"name": parent}, headers=admin.headers)
            )["id"]
            for order, child in enumerate(children):
                created = _data(
                    client.post(
                        "/api/v1/categories",
                        json={"name": child, "parentId": parent_id, "order": order},
                        headers=admin.headers,
                    )
                )
                categories[child] = created["id"]
        teachers = [_instructor(client, admin, email, name) for email, name in INSTRUCTORS]
        courses: list[dict[str, Any]] = []
        for index, topic in enumerate(TOPICS):
            teacher = teachers[index % len(teachers)]
            courses.append(_course(client, teacher, rng, categories[topic[0]], topic))
        students = [_account(client, email, name) for email, name in STUDENTS]
        free = [course for course in courses if course["isFree"]]
        for position, student in enumerate(students):
            for course in free[position : position + 3]:
                _data(
                    client.post(
                        f"/api/v1/courses/{course['id']}/enrollment", headers=student.headers
                    )
                )
                lesson = course["firstLesson"]
                watched = rng.choice([60, 300, lesson["durationSeconds"]])
                client.put(
                    f"/api/v1/lessons/{lesson['id']}/progress",
                    json={
                        "positionSeconds": watched,
                        "watchedSeconds": watched,
                        "playbackSpeed": 1.0,
                    },
                    headers=student.headers,
                )
    _log.info("demo data seeded", extra={"courses": len(TOPICS)})
    return True


def _course(
    client: httpx.Client,
    teacher: _Account,
    rng: random.Random,
    category_id: str,
    topic: tuple[str, str, list[str], str, str],
) -> dict[str, Any]:
    _, title, tags, difficulty, price = topic
    headers = teacher.headers
    course = _data(
        client.post(
            "/api/v1/courses",
            json={
                "title": title,
                "shortDescription": f"{title}: a practical course.",
                "description": f"In {title} you learn by doing: videos, quizzes and projects.",
                "price": price,
                "currency": "USD",
                "difficulty": difficulty,
                "language": "en",
                "categoryId": category_id,
                "tags": tags,
                "learningOutcomes": [f"Apply {tags[0]} with confidence"],
                "targetAudience": "Developers who like to learn by doing.",
            },
            headers=headers,
        )
    )
    first_lesson: dict[str, Any] | None = None
    for section_number in range(1, 3):
        section = _data(
            client.post(
                f"/api/v1/courses/{course['id']}/sections",
                json={"title": f"Part {section_number}"},
                headers=headers,
            )
        )
        for lesson_number in range(1, 3):
            lesson = _data(
                client.post(
                    f"/api/v1/sections/{section['id']}/lessons",
                    json={
                        "title": f"Lesson {section_number}.{lesson_number}",
                        "videoUrl": f"https://video.unpuzzle.local/{course['slug']}/{section_number}-{lesson_number}.mp4",
                        "videoProvider": "unpuzzle",
                        "durationSeconds": rng.randrange(180, 900, 30),
                        "isPreview": section_number == 1 and lesson_number == 1,
                    },
                    headers=headers,
                )
            )
            first_lesson = first_lesson or lesson
            _data(
                client.post(
                    f"/api/v1/lessons/{lesson['id']}/quiz-questions",
                    json={
                        "prompt": f"Key idea of lesson {section_number}.{lesson_number}?",
                        "options": ["Practice", "Memorising", "Skipping ahead"],
                        "correctOption": 0,
                        "explanation": "Practice makes it stick.",
                        "timestampSeconds": 60,
                    },
                    headers=headers,
                )
            )
    published = _data(client.post(f"/api/v1/courses/{course['id']}:publish", headers=headers))
    published["firstLesson"] = first_lesson
    return dict(published)
