"""Callers and ready-made catalogue states for the handler tests."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID, uuid4

from kernel.security import Caller
from services.course.domain.model import CourseDetails, CourseDraft, LessonDraft
from services.course.service_layer.commands import (
    CourseAction,
    CreateCourse,
    CreateLesson,
    CreateSection,
    Enrol,
)
from services.course.service_layer.handlers import courses, enrollments, outline
from services.course.tests.fakes import FakeCourseUnitOfWork

INSTRUCTOR_PERMISSIONS = frozenset(
    {"course:create", "course:update", "course:publish", "course:delete"}
)


def instructor() -> Caller:
    """A new instructor."""
    return Caller(
        user_id=uuid4(), roles=frozenset({"instructor"}), permissions=INSTRUCTOR_PERMISSIONS
    )


def student() -> Caller:
    """A new student."""
    return Caller(user_id=uuid4(), roles=frozenset({"student"}))


ADMIN = Caller(user_id=uuid4(), roles=frozenset({"admin"}), permissions=INSTRUCTOR_PERMISSIONS)


async def draft(
    uow: FakeCourseUnitOfWork, owner: Caller, title: str = "Intro to Rust", **fields: object
) -> CourseDetails:
    """A draft course of `owner`."""
    command = CreateCourse(CourseDraft(title=title, **fields))  # type: ignore[arg-type]
    return await courses.create_course(command, uow, owner)


async def published(
    uow: FakeCourseUnitOfWork,
    owner: Caller,
    *,
    price: Decimal = Decimal(0),
    lessons: int = 2,
    preview_first: bool = False,
) -> tuple[UUID, UUID, list[UUID]]:
    """A published course with one section of `lessons` lessons: (course, section, lessons)."""
    course = (await draft(uow, owner, description="Everything", price=price)).course
    section = await outline.create_section(CreateSection(course.id, "Basics"), uow, owner)
    lesson_ids = []
    for index in range(lessons):
        view = await outline.create_lesson(
            CreateLesson(
                section.section.id,
                LessonDraft(
                    title=f"Lesson {index + 1}",
                    duration_seconds=60 * (index + 1),
                    is_preview=preview_first and index == 0,
                ),
            ),
            uow,
            owner,
        )
        lesson_ids.append(view.lesson.id)
    await courses.publish_course(CourseAction(course.id), uow, owner)
    return course.id, section.section.id, lesson_ids


async def enrolled(
    uow: FakeCourseUnitOfWork, course_id: UUID, caller: Caller | None = None
) -> Caller:
    """A student enrolled in the course (active if it is free)."""
    caller = caller or student()
    await enrollments.enrol(Enrol(course_id), uow, caller)
    return caller
