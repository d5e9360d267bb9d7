"""Sections and lessons: order, reorder, moves, deletion, totals, and who may watch a lesson."""

from __future__ import annotations

from uuid import uuid4

import pytest

from kernel.errors import PermissionDenied, ValidationFailed
from kernel.security import ANONYMOUS
from services.course.domain.errors import (
    LessonNotFound,
    NotEnrolled,
    SectionNotFound,
    VersionConflict,
)
from services.course.domain.events import LessonCreated, LessonDeleted, LessonUpdated
from services.course.domain.model import LessonChanges, LessonDraft
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
)
from services.course.service_layer.handlers import outline
from services.course.tests.fakes import FakeCourseUnitOfWork
from services.course.tests.unit.builders import (
    ADMIN,
    draft,
    enrolled,
    instructor,
    published,
    student,
)


def _orders(uow: FakeCourseUnitOfWork, section_id):
    lessons = [x for x in uow.store.lessons.values() if x.section_id == section_id]
    return sorted((x.order, x.title) for x in lessons if not x.is_deleted)


async def test_sections_and_lessons_are_appended_in_order_and_totals_follow():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    course_id, section_id, _ = await published(uow, owner, lessons=2)
    second = await outline.create_section(CreateSection(course_id, "Advanced"), uow, owner)
    assert second.section.order == 2
    await outline.create_lesson(
        CreateLesson(second.section.id, LessonDraft(title="Unsafe", duration_seconds=500)),
        uow,
        owner,
    )
    assert _orders(uow, section_id) == [(1, "Lesson 1"), (2, "Lesson 2")]
    course = uow.store.courses[course_id]
    assert (course.lesson_count, course.duration_seconds) == (3, 680)
    created = uow.published[-1].event
    assert isinstance(created, LessonCreated)
    assert (created.totals.lesson_count, created.lesson.order) == (3, 1)


async def test_reorder_must_name_exactly_the_existing_children():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    course_id, section_id, lessons = await published(uow, owner, lessons=3)
    for wrong in ((lessons[0], lessons[1]), (*lessons, uuid4()), (lessons[0], *lessons)):
        with pytest.raises(ValidationFailed):
            await outline.reorder_lessons(ReorderLessons(section_id, wrong), uow, owner)
    view = await outline.reorder_lessons(
        ReorderLessons(section_id, (lessons[2], lessons[0], lessons[1])), uow, owner
    )
    assert [lesson.title for lesson in view.lessons] == ["Lesson 3", "Lesson 1", "Lesson 2"]
    assert _orders(uow, section_id) == [(1, "Lesson 3"), (2, "Lesson 1"), (3, "Lesson 2")]
    assert all(isinstance(r.event, LessonUpdated) for r in uow.published[-3:])
    with pytest.raises(ValidationFailed):
        await outline.reorder_sections(ReorderSections(course_id, ()), uow, owner)


async def test_sections_reorder():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    course_id, first, _ = await published(uow, owner)
    second = (await outline.create_section(CreateSection(course_id, "Two"), uow, owner)).section
    views = await outline.reorder_sections(
        ReorderSections(course_id, (second.id, first)), uow, owner
    )
    assert [(v.section.title, v.section.order) for v in views] == [("Two", 1), ("Basics", 2)]
    listed = await outline.list_sections(ListSections(course_id), uow, ANONYMOUS)
    assert [v.section.id for v in listed] == [second.id, first]


async def test_move_to_another_section_closes_the_gap_and_inserts_at_the_position():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    course_id, source, lessons = await published(uow, owner, lessons=3)
    target = (await outline.create_section(CreateSection(course_id, "Two"), uow, owner)).section
    await outline.create_lesson(CreateLesson(target.id, LessonDraft(title="Existing")), uow, owner)
    moved = await outline.move_lesson(MoveLesson(lessons[0], target.id, order=1), uow, owner)
    assert (moved.lesson.section_id, moved.lesson.order) == (target.id, 1)
    assert _orders(uow, source) == [(1, "Lesson 2"), (2, "Lesson 3")]
    assert _orders(uow, target.id) == [(1, "Lesson 1"), (2, "Existing")]
    other = await published(uow, owner)
    with pytest.raises(ValidationFailed):
        await outline.move_lesson(MoveLesson(lessons[1], other[1]), uow, owner)


async def test_deleting_a_lesson_renumbers_and_a_section_takes_its_lessons_along():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    course_id, section_id, lessons = await published(uow, owner, lessons=3)
    await outline.delete_lesson(DeleteLesson(lessons[0]), uow, owner)
    assert _orders(uow, section_id) == [(1, "Lesson 2"), (2, "Lesson 3")]
    with pytest.raises(LessonNotFound):
        await outline.get_lesson(GetLesson(lessons[0]), uow, owner)
    await outline.delete_section(DeleteSection(course_id, section_id), uow, owner)
    assert uow.store.courses[course_id].lesson_count == 0
    deleted = [r.event for r in uow.published if isinstance(r.event, LessonDeleted)]
    assert [e.totals.lesson_count for e in deleted] == [2, 0, 0]
    with pytest.raises(SectionNotFound):
        await outline.delete_section(DeleteSection(course_id, section_id), uow, owner)


async def test_lesson_update_checks_the_version_and_announces_the_change():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    _, _, lessons = await published(uow, owner)
    changes = LessonChanges(duration_seconds=900, title="Intro")
    view = await outline.update_lesson(UpdateLesson(lessons[0], changes, 1), uow, owner)
    assert view.lesson.version == 2
    event = uow.published[-1].event
    assert isinstance(event, LessonUpdated)
    assert event.changed_fields == ("title", "duration_seconds")
    assert event.totals.duration_seconds == 900 + 120
    with pytest.raises(VersionConflict):
        await outline.update_lesson(UpdateLesson(lessons[0], changes, 1), uow, owner)


async def test_only_the_owner_edits_the_outline_and_hidden_courses_stay_hidden():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    course_id, _, _ = await published(uow, owner)
    with pytest.raises(PermissionDenied):
        await outline.create_section(CreateSection(course_id, "Mine"), uow, instructor())
    course = (await draft(uow, owner, title="Secret")).course
    section = await outline.create_section(CreateSection(course.id, "Hidden"), uow, owner)
    with pytest.raises(SectionNotFound):
        await outline.create_lesson(
            CreateLesson(section.section.id, LessonDraft(title="x")), uow, instructor()
        )


async def test_who_may_watch_a_lesson():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    course_id, _, (preview, paid) = await published(uow, owner, preview_first=True)
    for caller in (ANONYMOUS, student()):
        assert (await outline.get_lesson(GetLesson(preview), uow, caller)).lesson.id == preview
        with pytest.raises(NotEnrolled):
            await outline.get_lesson(GetLesson(paid), uow, caller)
    for caller in (owner, ADMIN, await enrolled(uow, course_id)):
        assert (await outline.get_lesson(GetLesson(paid), uow, caller)).lesson.id == paid


async def test_lessons_of_a_draft_are_not_found_for_strangers():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    course = (await draft(uow, owner)).course
    section = await outline.create_section(CreateSection(course.id, "S"), uow, owner)
    lesson = await outline.create_lesson(
        CreateLesson(section.section.id, LessonDraft(title="L", is_preview=True)), uow, owner
    )
    with pytest.raises(LessonNotFound):
        await outline.get_lesson(GetLesson(lesson.lesson.id), uow, student())
