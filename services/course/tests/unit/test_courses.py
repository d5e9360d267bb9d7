"""Courses: creation, visibility, edits with versions, lifecycle, deletion and duplication."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from kernel.errors import PermissionDenied, Unauthenticated, ValidationFailed
from kernel.security import ANONYMOUS
from services.course.domain.errors import (
    CategoryNotFound,
    CourseNotFound,
    CourseNotPublishable,
    InvalidStateTransition,
    VersionConflict,
)
from services.course.domain.events import CourseCreated, CoursePublished, CourseUpdated
from services.course.domain.model import CourseChanges, CourseDraft, CourseStatus
from services.course.service_layer.commands import (
    CourseAction,
    CreateCourse,
    DuplicateCourse,
    GetCourse,
    UpdateCourse,
)
from services.course.service_layer.handlers import courses
from services.course.tests.fakes import FakeCourseUnitOfWork
from services.course.tests.unit.builders import ADMIN, draft, instructor, published, student


async def test_instructor_creates_a_draft_and_course_created_is_staged():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    details = await draft(uow, owner, price=Decimal("19.99"), tags=(" Rust ", "rust", "Systems"))
    course = details.course
    assert course.status is CourseStatus.DRAFT
    assert course.slug == "intro-to-rust"
    assert course.instructor_id == owner.user_id
    assert course.tags == ["rust", "systems"]
    assert not course.is_free
    assert uow.commits == 1
    [raised] = uow.published
    assert isinstance(raised.event, CourseCreated)
    assert raised.aggregate_id == str(course.id)
    assert raised.event.course.slug == "intro-to-rust"


async def test_slugs_stay_unique_for_equal_titles():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    slugs = [(await draft(uow, owner)).course.slug for _ in range(3)]
    assert slugs == ["intro-to-rust", "intro-to-rust-2", "intro-to-rust-3"]


async def test_student_and_anonymous_cannot_create_a_course():
    uow = FakeCourseUnitOfWork()
    with pytest.raises(PermissionDenied):
        await courses.create_course(CreateCourse(CourseDraft(title="x")), uow, student())
    with pytest.raises(Unauthenticated):
        await courses.create_course(CreateCourse(CourseDraft(title="x")), uow, ANONYMOUS)
    assert uow.published == []


async def test_discount_above_price_is_rejected_and_nothing_is_committed():
    uow = FakeCourseUnitOfWork()
    with pytest.raises(ValidationFailed) as raised:
        await draft(uow, instructor(), price=Decimal("10"), discount_price=Decimal("12"))
    assert [v.field for v in raised.value.violations] == ["discountPrice"]
    assert uow.commits == 0
    assert uow.store.courses == {}


async def test_unknown_category_is_rejected():
    with pytest.raises(CategoryNotFound):
        await draft(FakeCourseUnitOfWork(), instructor(), category_id=uuid4())


async def test_draft_is_visible_to_owner_and_admin_only():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    course = (await draft(uow, owner)).course
    for caller in (owner, ADMIN):
        found = await courses.get_course(GetCourse(str(course.id)), uow, caller)
        assert found.course.id == course.id
    for caller in (student(), instructor(), ANONYMOUS):
        with pytest.raises(CourseNotFound):
            await courses.get_course(GetCourse(course.slug), uow, caller)


async def test_published_course_is_found_by_slug_case_insensitively():
    uow = FakeCourseUnitOfWork()
    course_id, _, _ = await published(uow, instructor())
    found = await courses.get_course(GetCourse("Intro-To-Rust"), uow, ANONYMOUS)
    assert found.course.id == course_id
    assert await courses.public_course(course_id, uow) is not None


async def test_update_changes_only_the_given_fields_and_checks_the_version():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    course = (await draft(uow, owner, description="Old", price=Decimal("5"))).course
    changes = CourseChanges(title="Rust, Quickly", discount_price=Decimal("3"))
    updated = await courses.update_course(UpdateCourse(course.id, changes, 1), uow, owner)
    assert (updated.course.title, updated.course.description) == ("Rust, Quickly", "Old")
    assert updated.course.version == 2
    assert updated.course.slug == "intro-to-rust"  # slugs never change
    assert isinstance(uow.published[-1].event, CourseUpdated)
    assert uow.published[-1].event.changed_fields == ("title", "discount_price")
    with pytest.raises(VersionConflict):
        await courses.update_course(
            UpdateCourse(course.id, CourseChanges(title="Stale"), 1), uow, owner
        )
    assert uow.store.courses[course.id].title == "Rust, Quickly"


async def test_an_update_that_changes_nothing_keeps_the_version():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    course = (await draft(uow, owner)).course
    same = await courses.update_course(
        UpdateCourse(course.id, CourseChanges(title="Intro to Rust")), uow, owner
    )
    assert same.course.version == 1
    assert uow.event_types() == ["CourseCreated"]


async def test_only_the_owner_or_an_admin_edits():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    course_id, _, _ = await published(uow, owner)
    with pytest.raises(PermissionDenied):
        await courses.update_course(
            UpdateCourse(course_id, CourseChanges(title="Mine now")), uow, instructor()
        )
    done = await courses.update_course(
        UpdateCourse(course_id, CourseChanges(title="Fixed by admin")), uow, ADMIN
    )
    assert done.course.updated_by == ADMIN.user_id


async def test_publishing_lists_everything_missing():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    course = (await draft(uow, owner)).course
    with pytest.raises(CourseNotPublishable) as raised:
        await courses.publish_course(CourseAction(course.id), uow, owner)
    assert [v.field for v in raised.value.violations] == ["description", "sections"]
    assert uow.store.courses[course.id].status is CourseStatus.DRAFT


async def test_publish_announces_the_outline():
    uow = FakeCourseUnitOfWork()
    course_id, section_id, lesson_ids = await published(uow, instructor(), lessons=3)
    event = next(r.event for r in uow.published if isinstance(r.event, CoursePublished))
    assert [fact.lesson_id for fact in event.lessons] == lesson_ids
    assert {fact.section_id for fact in event.lessons} == {section_id}
    assert (event.totals.lesson_count, event.totals.duration_seconds) == (3, 360)
    course = uow.store.courses[course_id]
    assert course.status is CourseStatus.PUBLISHED
    assert course.published_at is not None


async def test_lifecycle_follows_draft_published_unpublished_archived():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    course_id, _, _ = await published(uow, owner)
    with pytest.raises(InvalidStateTransition):
        await courses.publish_course(CourseAction(course_id), uow, owner)
    await courses.unpublish_course(CourseAction(course_id), uow, owner)
    await courses.publish_course(CourseAction(course_id), uow, owner)
    archived = await courses.archive_course(CourseAction(course_id), uow, owner)
    assert archived.course.status is CourseStatus.ARCHIVED
    for step in (courses.publish_course, courses.unpublish_course, courses.archive_course):
        with pytest.raises(InvalidStateTransition):
            await step(CourseAction(course_id), uow, owner)


async def test_deleted_course_is_hidden_until_an_admin_restores_it():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    course_id, _, _ = await published(uow, owner)
    await courses.delete_course(CourseAction(course_id), uow, owner)
    assert await courses.public_course(course_id, uow) is None
    for caller in (owner, student(), ANONYMOUS):
        with pytest.raises(CourseNotFound):
            await courses.get_course(GetCourse(str(course_id)), uow, caller)
    with pytest.raises(PermissionDenied):
        await courses.restore_course(CourseAction(course_id), uow, owner)
    restored = await courses.restore_course(CourseAction(course_id), uow, ADMIN)
    assert restored.course.deleted_at is None
    assert await courses.public_course(course_id, uow) is not None
    assert uow.event_types()[-2:] == ["CourseDeleted", "CourseRestored"]


async def test_duplicate_copies_the_outline_as_a_new_draft():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    course_id, _, lesson_ids = await published(uow, owner, lessons=2)
    copy = await courses.duplicate_course(DuplicateCourse(course_id), uow, owner)
    assert copy.course.status is CourseStatus.DRAFT
    assert copy.course.slug == "intro-to-rust-copy"
    assert copy.course.id != course_id
    assert copy.course.enrollment_count == 0
    assert (copy.course.lesson_count, copy.course.duration_seconds) == (2, 180)
    [section] = copy.sections
    assert [lesson.title for lesson in section.lessons] == ["Lesson 1", "Lesson 2"]
    assert not {lesson.id for lesson in section.lessons} & set(lesson_ids)
    assert uow.event_types()[-3:] == ["CourseCreated", "LessonCreated", "LessonCreated"]
