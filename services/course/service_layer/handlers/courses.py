"""Courses: create, read, edit, lifecycle, duplication, lists."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from kernel.security import Caller
from services.course.domain.errors import CategoryNotFound, CourseNotFound, SlugTaken
from services.course.domain.events import OutlineTotals
from services.course.domain.model import (
    KEEP,
    CategoryTree,
    Course,
    CourseCard,
    CourseDetails,
    InstructorProfile,
    Lesson,
    LessonOutline,
    Section,
    SectionOutline,
    ViewerState,
    first_free_slug,
    slugify,
)
from services.course.service_layer.access import (
    owned_course,
    parse_uuid,
    require_admin,
    visible_course,
)
from services.course.service_layer.commands import (
    CourseAction,
    CreateCourse,
    DuplicateCourse,
    GetCourse,
    ListCourses,
    ListTeaching,
    UpdateCourse,
)
from services.course.service_layer.unit_of_work import CourseUnitOfWork, Page

_SLUG_ATTEMPTS = 3
_MAX_TITLE = 200
_COPY_SUFFIX = " (copy)"


def outline(sections: Sequence[Section], lessons: Sequence[Lesson]) -> list[SectionOutline]:
    """Sections in order, each with its lessons in order."""
    by_section: dict[UUID, list[LessonOutline]] = {section.id: [] for section in sections}
    for lesson in sorted(lessons, key=lambda item: item.order):
        if lesson.section_id in by_section:
            by_section[lesson.section_id].append(
                LessonOutline(
                    id=lesson.id,
                    title=lesson.title,
                    order=lesson.order,
                    duration_seconds=lesson.duration_seconds,
                    is_preview=lesson.is_preview,
                )
            )
    return [
        SectionOutline(id=s.id, title=s.title, order=s.order, lessons=by_section[s.id])
        for s in sorted(sections, key=lambda item: item.order)
    ]


async def course_details(uow: CourseUnitOfWork, course: Course) -> CourseDetails:
    """The course with its outline (two statements)."""
    sections = await uow.sections.of_course(course.id)
    lessons = await uow.lessons.of_course(course.id)
    return CourseDetails(course=course, sections=outline(sections, lessons))


async def _free_slug(uow: CourseUnitOfWork, title: str) -> str:
    base = slugify(title)
    return first_free_slug(base, await uow.courses.slugs_like(base))


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


async def _create_course(
    command: CreateCourse, uow: CourseUnitOfWork, instructor_id: UUID
) -> CourseDetails:
    async with uow:
        draft = command.draft
        if draft.category_id is not None and await uow.categories.get(draft.category_id) is None:
            raise CategoryNotFound(draft.category_id)
        course = Course.create(
            draft, instructor_id=instructor_id, slug=await _free_slug(uow, draft.title)
        )
        await uow.courses.add(course)
        await uow.commit()
    return CourseDetails(course=course, sections=[])


async def get_course(command: GetCourse, uow: CourseUnitOfWork, caller: Caller) -> CourseDetails:
    """A course by id or slug, if the caller may see it (drafts: owner and admins)."""
    async with uow:
        course_id = parse_uuid(command.id_or_slug) or await uow.courses.id_for_slug(
            command.id_or_slug.lower()
        )
        if course_id is None:
            raise CourseNotFound(command.id_or_slug)
        course = await visible_course(uow, course_id, caller, CourseNotFound(command.id_or_slug))
        return await course_details(uow, course)


async def public_course(course_id: UUID, uow: CourseUnitOfWork) -> CourseDetails | None:
    """The course as everyone sees it, or None when it is not in the catalogue (cacheable)."""
    async with uow:
        course = await uow.courses.get(course_id)
        if course is None or not course.is_public:
            return None
        return await course_details(uow, course)


async def course_id_for_slug(slug: str, uow: CourseUnitOfWork) -> UUID | None:
    """The id behind a slug (slugs never change, so the answer is cacheable)."""
    async with uow:
        return await uow.courses.id_for_slug(slug.lower())


async def viewer_state(course_id: UUID, uow: CourseUnitOfWork, caller: Caller) -> ViewerState:
    """The signed-in caller's enrolment in the course."""
    user_id = caller.require_user()
    async with uow:
        return ViewerState(await uow.enrollments.find(user_id, course_id))


async def instructor_profile(instructor_id: UUID, uow: CourseUnitOfWork) -> InstructorProfile:
    """The replicated profile of an instructor."""
    async with uow:
        return await uow.instructors.get(instructor_id)


async def update_course(
    command: UpdateCourse, uow: CourseUnitOfWork, caller: Caller
) -> CourseDetails:
    """Change catalogue fields (owner with course:update, or an admin)."""
    async with uow:
        course, user_id = await owned_course(
            uow, command.course_id, caller, permission="course:update"
        )
        course.expect_version(command.expected_version)
        category_id = command.changes.category_id
        if (
            category_id is not KEEP
            and category_id is not None
            and await uow.categories.get(category_id) is None
        ):
            raise CategoryNotFound(category_id)
        if course.update(command.changes, user_id):
            await uow.courses.save(course)
        details = await course_details(uow, course)
        await uow.commit()
    return details


async def publish_course(
    command: CourseAction, uow: CourseUnitOfWork, caller: Caller
) -> CourseDetails:
    """Put a draft or unpublished course in the catalogue (owner with course:publish)."""
    async with uow:
        course, user_id = await owned_course(
            uow, command.course_id, caller, permission="course:publish", for_update=True
        )
        course.expect_version(command.expected_version)
        details = await course_details(uow, course)
        course.publish(user_id, details.sections)
        await uow.courses.save(course)
        await uow.commit()
    return details


async def unpublish_course(
    command: CourseAction, uow: CourseUnitOfWork, caller: Caller
) -> CourseDetails:
    """Take a course out of the catalogue (owner with course:publish)."""
    async with uow:
        course, user_id = await owned_course(
            uow, command.course_id, caller, permission="course:publish"
        )
        course.expect_version(command.expected_version)
        course.unpublish(user_id)
        await uow.courses.save(course)
        details = await course_details(uow, course)
        await uow.commit()
    return details


async def archive_course(
    command: CourseAction, uow: CourseUnitOfWork, caller: Caller
) -> CourseDetails:
    """Retire a course (owner with course:update)."""
    async with uow:
        course, user_id = await owned_course(
            uow, command.course_id, caller, permission="course:update"
        )
        course.expect_version(command.expected_version)
        course.archive(user_id)
        await uow.courses.save(course)
        details = await course_details(uow, course)
        await uow.commit()
    return details


async def delete_course(command: CourseAction, uow: CourseUnitOfWork, caller: Caller) -> None:
    """Soft-delete a course (owner with course:delete, or an admin)."""
    async with uow:
        course, user_id = await owned_course(
            uow, command.course_id, caller, permission="course:delete"
        )
        course.expect_version(command.expected_version)
        course.delete(user_id)
        await uow.courses.save(course)
        await uow.commit()


async def restore_course(
    command: CourseAction, uow: CourseUnitOfWork, caller: Caller
) -> CourseDetails:
    """Undo a soft delete (admins)."""
    user_id = require_admin(caller)
    async with uow:
        course = await uow.courses.get(command.course_id)
        if course is None:
            raise CourseNotFound(command.course_id)
        course.expect_version(command.expected_version)
        course.restore(user_id)
        await uow.courses.save(course)
        details = await course_details(uow, course)
        await uow.commit()
    return details


async def duplicate_course(
    command: DuplicateCourse, uow: CourseUnitOfWork, caller: Caller
) -> CourseDetails:
    """Deep-copy a course (sections, lessons, quiz questions) as a new draft of its owner."""
    async with uow:
        source, user_id = await owned_course(
            uow, command.course_id, caller, permission="course:create"
        )
        title = source.title[: _MAX_TITLE - len(_COPY_SUFFIX)] + _COPY_SUFFIX
        copy = source.duplicate(slug=await _free_slug(uow, title), title=title, by=user_id)
        sections = await uow.sections.of_course(source.id)
        lessons = await uow.lessons.of_course(source.id)
        questions = await uow.quiz_questions.of_course(source.id)
        section_copies = {
            section.id: Section.create(
                course_id=copy.id, title=section.title, order=section.order, by=user_id
            )
            for section in sections
        }
        lesson_copies = {
            lesson.id: lesson.copy_to(copy.id, section_copies[lesson.section_id].id, user_id)
            for lesson in lessons
            if lesson.section_id in section_copies
        }
        question_copies = [
            question.copy_to(lesson_copies[question.lesson_id], user_id)
            for question in questions
            if question.lesson_id in lesson_copies
        ]
        copy.lesson_count = len(lesson_copies)
        copy.duration_seconds = sum(lesson.duration_seconds for lesson in lesson_copies.values())
        await uow.courses.add(copy)
        await uow.sections.add(*section_copies.values())
        await uow.lessons.add(*lesson_copies.values())
        await uow.quiz_questions.add(*question_copies)
        totals = OutlineTotals(copy.lesson_count, copy.duration_seconds)
        for lesson in lesson_copies.values():
            lesson.announce_created(totals)
        details = CourseDetails(
            course=copy,
            sections=outline(list(section_copies.values()), list(lesson_copies.values())),
        )
        await uow.commit()
    return details


async def list_courses(command: ListCourses, uow: CourseUnitOfWork) -> Page[CourseCard]:
    """A page of the public catalogue; a category filter includes its subcategories."""
    async with uow:
        category_ids = None
        if command.filter.category_id is not None:
            tree = CategoryTree(await uow.categories.live())
            category_ids = frozenset(
                tree.subtree_ids(command.filter.category_id)
                if command.filter.category_id in tree.by_id
                else ()
            )
        return await uow.queries.courses(command.filter, category_ids, command.order, command.page)


async def list_teaching(
    command: ListTeaching, uow: CourseUnitOfWork, caller: Caller
) -> Page[CourseCard]:
    """The caller's own live courses in every status."""
    user_id = caller.require_user()
    async with uow:
        return await uow.queries.teaching(user_id, command.status, command.page)


async def popular_course_ids(limit: int, uow: CourseUnitOfWork) -> list[UUID]:
    """The most enrolled catalogue courses (what to warm the cache with)."""
    async with uow:
        return await uow.queries.popular_course_ids(limit)
