"""Use cases of the course service: small functions of (command, unit of work, caller)."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from kernel.security import Caller
from services.course.domain.errors import CategoryNotFound, CourseNotFound, SlugTaken
from services.course.domain.model import Course, CourseDetails, first_free_slug, slugify
from services.course.service_layer.commands import CreateCourse, GetCourse
from services.course.service_layer.unit_of_work import CourseUnitOfWork

UnitOfWorkFactory = Callable[..., CourseUnitOfWork]


async def _details(uow: CourseUnitOfWork, course: Course) -> CourseDetails:
    category = await uow.catalogue.category(course.category_id) if course.category_id else None
    return CourseDetails(
        course=course,
        instructor=await uow.catalogue.instructor(course.instructor_id),
        category=category,
    )


async def create_course(
    command: CreateCourse, uow: CourseUnitOfWork, caller: Caller
) -> CourseDetails:
    """Create a draft owned by the caller, with a unique slug derived from the title."""
    instructor_id = caller.require_permission("course:create")
    # Two authors may race for the same slug; the unique index decides and the loser retries.
    for attempt in range(_SLUG_ATTEMPTS):
        try:
            return await _create_course(command, uow, instructor_id)
        except SlugTaken:
            if attempt == _SLUG_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


_SLUG_ATTEMPTS = 3


async def _create_course(
    command: CreateCourse, uow: CourseUnitOfWork, instructor_id: UUID
) -> CourseDetails:
    async with uow:
        draft = command.draft
        if (
            draft.category_id is not None
            and await uow.catalogue.category(draft.category_id) is None
        ):
            raise CategoryNotFound(draft.category_id)
        base = slugify(draft.title)
        slug = first_free_slug(base, await uow.courses.slugs_like(base))
        course = Course.create(draft, instructor_id=instructor_id, slug=slug)
        await uow.courses.add(course)
        details = await _details(uow, course)
        await uow.commit()
    return details


def _parse_uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


async def get_course(command: GetCourse, uow: CourseUnitOfWork, caller: Caller) -> CourseDetails:
    """A course by id or slug, if the caller may see it (drafts: owner and admins)."""
    async with uow:
        course_id = _parse_uuid(command.id_or_slug)
        course = (
            await uow.courses.get(course_id)
            if course_id is not None
            else await uow.courses.get_by_slug(command.id_or_slug.lower())
        )
        if course is None or not course.visible_to(caller.user_id, is_admin=caller.is_admin):
            raise CourseNotFound(command.id_or_slug)
        return await _details(uow, course)
