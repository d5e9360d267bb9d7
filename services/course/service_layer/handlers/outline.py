"""Sections and lessons: the outline of a course, edited by its owner."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from kernel.errors import FieldViolation, ValidationFailed
from kernel.security import Caller
from services.course.domain.errors import LessonNotFound, NotEnrolled, SectionNotFound
from services.course.domain.model import (
    KEEP,
    Course,
    Lesson,
    LessonView,
    Section,
    SectionView,
    check_exact_order,
    renumber,
)
from services.course.service_layer.access import owned_course, visible_course
from services.course.service_layer.commands import (
    CreateLesson,
    CreateSection,
    DeleteLesson,
    DeleteSection,
    GetLesson,
    ListSections,
    MoveLesson,
    ReorderLessons,
    ReorderSections,
    UpdateLesson,
    UpdateSection,
)
from services.course.service_layer.handlers.courses import outline
from services.course.service_layer.unit_of_work import CourseUnitOfWork


def _views(sections: Sequence[Section], lessons: Sequence[Lesson]) -> list[SectionView]:
    outlines = {item.id: item.lessons for item in outline(sections, lessons)}
    return [
        SectionView(section, outlines[section.id])
        for section in sorted(sections, key=lambda s: s.order)
    ]


async def _owned_section(
    uow: CourseUnitOfWork, section_id: UUID, caller: Caller, course_id: UUID | None = None
) -> tuple[Section, Course, UUID]:
    """The section, its course (locked) and the caller, who must own the course."""
    section = await uow.sections.get(section_id)
    if section is None or (course_id is not None and section.course_id != course_id):
        raise SectionNotFound(section_id)
    course, user_id = await owned_course(
        uow,
        section.course_id,
        caller,
        permission="course:update",
        for_update=True,
        missing=SectionNotFound(section_id),
    )
    return section, course, user_id


async def _owned_lesson(
    uow: CourseUnitOfWork, lesson_id: UUID, caller: Caller
) -> tuple[Lesson, UUID]:
    lesson = await uow.lessons.get(lesson_id)
    if lesson is None:
        raise LessonNotFound(lesson_id)
    _, user_id = await owned_course(
        uow,
        lesson.course_id,
        caller,
        permission="course:update",
        for_update=True,
        missing=LessonNotFound(lesson_id),
    )
    return lesson, user_id


def _place(lessons: Sequence[Lesson], section_id: UUID, by: UUID) -> list[Lesson]:
    """Number `lessons` 1..n in `section_id`; the ones whose placement changed."""
    return [lesson for lesson, order in renumber(lessons) if lesson.place(section_id, order, by)]


async def list_sections(
    command: ListSections, uow: CourseUnitOfWork, caller: Caller
) -> list[SectionView]:
    """The outline of a course the caller may see."""
    async with uow:
        course = await visible_course(uow, command.course_id, caller)
        return _views(
            await uow.sections.of_course(course.id), await uow.lessons.of_course(course.id)
        )


async def create_section(
    command: CreateSection, uow: CourseUnitOfWork, caller: Caller
) -> SectionView:
    """Append a section to a course."""
    async with uow:
        course, user_id = await owned_course(
            uow, command.course_id, caller, permission="course:update", for_update=True
        )
        existing = await uow.sections.of_course(course.id)
        section = Section.create(
            course_id=course.id, title=command.title, order=len(existing) + 1, by=user_id
        )
        await uow.sections.add(section)
        await uow.commit()
    return SectionView(section, [])


async def update_section(
    command: UpdateSection, uow: CourseUnitOfWork, caller: Caller
) -> SectionView:
    """Rename a section."""
    async with uow:
        section, _, user_id = await _owned_section(
            uow, command.section_id, caller, command.course_id
        )
        section.expect_version(command.expected_version)
        if command.title is not KEEP:
            section.rename(command.title, user_id)
            await uow.sections.save(section)
        lessons = await uow.lessons.of_section(section.id)
        await uow.commit()
    return _views([section], lessons)[0]


async def delete_section(command: DeleteSection, uow: CourseUnitOfWork, caller: Caller) -> None:
    """Soft-delete a section and its lessons; the other sections close the gap."""
    async with uow:
        section, course, user_id = await _owned_section(
            uow, command.section_id, caller, command.course_id
        )
        section.expect_version(command.expected_version)
        lessons = await uow.lessons.of_section(section.id)
        for lesson in lessons:
            lesson.soft_delete(user_id)
        section.soft_delete(user_id)
        await uow.sections.save(section)
        await uow.lessons.save_placements(lessons)
        remaining = [s for s in await uow.sections.of_course(course.id) if s.id != section.id]
        await uow.sections.save_orders(_renumber_sections(remaining, user_id))
        totals = await uow.courses.recount_outline(course.id)
        for lesson in lessons:
            lesson.announce_deleted(totals)
        await uow.commit()


def _renumber_sections(sections: Sequence[Section], by: UUID) -> list[Section]:
    moved = []
    for section, order in renumber(sections):
        if section.order != order:
            section.order = order
            section.touch(by)
            moved.append(section)
    return moved


async def reorder_sections(
    command: ReorderSections, uow: CourseUnitOfWork, caller: Caller
) -> list[SectionView]:
    """Put the course's sections in the requested order (exactly its sections)."""
    async with uow:
        course, user_id = await owned_course(
            uow, command.course_id, caller, permission="course:update", for_update=True
        )
        sections = {s.id: s for s in await uow.sections.of_course(course.id)}
        check_exact_order("sectionIds", command.section_ids, sections)
        ordered = [sections[section_id] for section_id in command.section_ids]
        await uow.sections.save_orders(_renumber_sections(ordered, user_id))
        views = _views(ordered, await uow.lessons.of_course(course.id))
        await uow.commit()
    return views


async def create_lesson(command: CreateLesson, uow: CourseUnitOfWork, caller: Caller) -> LessonView:
    """Append a lesson to a section."""
    async with uow:
        section, course, user_id = await _owned_section(uow, command.section_id, caller)
        siblings = await uow.lessons.of_section(section.id)
        lesson = Lesson.create(section, command.draft, order=len(siblings) + 1, by=user_id)
        await uow.lessons.add(lesson)
        lesson.announce_created(await uow.courses.recount_outline(course.id))
        await uow.commit()
    return LessonView(lesson, [])


async def get_lesson(command: GetLesson, uow: CourseUnitOfWork, caller: Caller) -> LessonView:
    """A lesson with its quiz questions, for enrolled students, the owner and admins; preview
    lessons of published courses for anyone."""
    async with uow:
        lesson = await uow.lessons.get(command.lesson_id)
        if lesson is None:
            raise LessonNotFound(command.lesson_id)
        course = await visible_course(
            uow, lesson.course_id, caller, LessonNotFound(command.lesson_id)
        )
        if not await _may_watch(uow, course, lesson, caller):
            raise NotEnrolled(course.id)
        return LessonView(lesson, await uow.quiz_questions.of_lesson(lesson.id))


async def _may_watch(uow: CourseUnitOfWork, course: Course, lesson: Lesson, caller: Caller) -> bool:
    if caller.is_admin or course.instructor_id == caller.user_id:
        return True
    if lesson.is_preview and course.is_public:
        return True
    if caller.user_id is None:
        return False
    enrollment = await uow.enrollments.find(caller.user_id, course.id)
    return enrollment is not None and enrollment.has_access


async def update_lesson(command: UpdateLesson, uow: CourseUnitOfWork, caller: Caller) -> LessonView:
    """Change a lesson's fields."""
    async with uow:
        lesson, user_id = await _owned_lesson(uow, command.lesson_id, caller)
        lesson.expect_version(command.expected_version)
        changed = lesson.update(command.changes, user_id)
        if changed:
            await uow.lessons.save(lesson)
            lesson.announce_updated(changed, await uow.courses.recount_outline(lesson.course_id))
        questions = await uow.quiz_questions.of_lesson(lesson.id)
        await uow.commit()
    return LessonView(lesson, questions)


async def delete_lesson(command: DeleteLesson, uow: CourseUnitOfWork, caller: Caller) -> None:
    """Soft-delete a lesson; the rest of its section closes the gap."""
    async with uow:
        lesson, user_id = await _owned_lesson(uow, command.lesson_id, caller)
        lesson.expect_version(command.expected_version)
        lesson.soft_delete(user_id)
        siblings = [x for x in await uow.lessons.of_section(lesson.section_id) if x.id != lesson.id]
        moved = _place(siblings, lesson.section_id, user_id)
        await uow.lessons.save_placements([lesson, *moved])
        totals = await uow.courses.recount_outline(lesson.course_id)
        lesson.announce_deleted(totals)
        for sibling in moved:
            sibling.announce_updated(["order"], totals)
        await uow.commit()


async def reorder_lessons(
    command: ReorderLessons, uow: CourseUnitOfWork, caller: Caller
) -> SectionView:
    """Put a section's lessons in the requested order (exactly its lessons)."""
    async with uow:
        section, course, user_id = await _owned_section(uow, command.section_id, caller)
        lessons = {lesson.id: lesson for lesson in await uow.lessons.of_section(section.id)}
        check_exact_order("lessonIds", command.lesson_ids, lessons)
        ordered = [lessons[lesson_id] for lesson_id in command.lesson_ids]
        moved = _place(ordered, section.id, user_id)
        await uow.lessons.save_placements(moved)
        if moved:
            totals = await uow.courses.recount_outline(course.id)
            for lesson in moved:
                lesson.announce_updated(["order"], totals)
        await uow.commit()
    return _views([section], ordered)[0]


async def move_lesson(command: MoveLesson, uow: CourseUnitOfWork, caller: Caller) -> LessonView:
    """Move a lesson to a position (the end by default) of a section of the same course."""
    async with uow:
        lesson, user_id = await _owned_lesson(uow, command.lesson_id, caller)
        lesson.expect_version(command.expected_version)
        target = await uow.sections.get(command.section_id)
        if target is None:
            raise SectionNotFound(command.section_id)
        if target.course_id != lesson.course_id:
            raise ValidationFailed(
                [FieldViolation("sectionId", "must be a section of the lesson's course")]
            )
        source_id = lesson.section_id
        others = [x for x in await uow.lessons.of_section(target.id) if x.id != lesson.id]
        position = min(command.order or len(others) + 1, len(others) + 1)
        moved = _place(
            [*others[: position - 1], lesson, *others[position - 1 :]], target.id, user_id
        )
        if source_id != target.id:
            remaining = [x for x in await uow.lessons.of_section(source_id) if x.id != lesson.id]
            moved.extend(_place(remaining, source_id, user_id))
        await uow.lessons.save_placements(moved)
        if moved:
            totals = await uow.courses.recount_outline(lesson.course_id)
            for item in moved:
                item.announce_updated(
                    ["section_id", "order"] if item is lesson else ["order"], totals
                )
        questions = await uow.quiz_questions.of_lesson(lesson.id)
        await uow.commit()
    return LessonView(lesson, questions)
