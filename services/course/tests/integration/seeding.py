"""Fast set-up for integration tests: catalogue rows written in one unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from kernel.clock import utc_now
from services.course.bootstrap import CourseService
from services.course.domain.model import (
    Course,
    CourseDraft,
    CourseStatus,
    Enrollment,
    InstructorProfile,
    Lesson,
    LessonDraft,
    Section,
)


@contextmanager
def counted_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while the block runs."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def published_courses(
    service: CourseService,
    count: int,
    *,
    instructor_id: UUID | None = None,
    lessons: int = 1,
    title: str = "Seeded course",
    price: Decimal = Decimal(0),
) -> list[Course]:
    """`count` published courses, each with one section of `lessons` lessons."""
    instructor_id = instructor_id or uuid4()
    created = []
    async with service.uow() as uow:
        await uow.instructors.upsert(InstructorProfile(instructor_id, "Grace", ""), 1)
        for index in range(count):
            course = Course.create(
                CourseDraft(title=f"{title} {index}", description="Seeded", price=price),
                instructor_id=instructor_id,
                slug=f"seeded-{uuid4().hex[:12]}",
            )
            section = Section.create(course_id=course.id, title="Only", order=1, by=instructor_id)
            outline = [
                Lesson.create(
                    section,
                    LessonDraft(title=f"Lesson {n}", duration_seconds=60),
                    order=n + 1,
                    by=instructor_id,
                )
                for n in range(lessons)
            ]
            course.status = CourseStatus.PUBLISHED
            course.published_at = utc_now()
            course.lesson_count = lessons
            course.duration_seconds = 60 * lessons
            await uow.courses.add(course)
            await uow.sections.add(section)
            await uow.lessons.add(*outline)
            created.append(course)
        await uow.commit()
    return created


async def enrol_all(service: CourseService, courses: list[Course], user_ids: list[UUID]) -> None:
    """Every user enrolled (active) in every course."""
    async with service.uow() as uow:
        for course in courses:
            for user_id in user_ids:
                await uow.enrollments.add(Enrollment.start(course, user_id))
            await uow.courses.adjust_enrollments(course.id, enrolled=len(user_ids), completed=0)
        await uow.commit()
