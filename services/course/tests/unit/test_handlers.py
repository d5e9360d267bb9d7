"""Use cases of the course service against in-memory adapters."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from kernel.errors import PermissionDenied, Unauthenticated, ValidationFailed
from kernel.security import ANONYMOUS, Caller
from services.course.domain.errors import CategoryNotFound, CourseNotFound
from services.course.domain.events import CourseCreated
from services.course.domain.model import CourseDraft, CourseStatus
from services.course.service_layer import handlers
from services.course.service_layer.commands import CreateCourse, GetCourse
from services.course.tests.fakes import FakeCourseUnitOfWork

INSTRUCTOR = Caller(
    user_id=uuid4(), roles=frozenset({"instructor"}), permissions=frozenset({"course:create"})
)
STUDENT = Caller(user_id=uuid4(), roles=frozenset({"student"}))
ADMIN = Caller(user_id=uuid4(), roles=frozenset({"admin"}))


async def _create(uow: FakeCourseUnitOfWork, title: str = "Intro to Rust", **fields: object):
    draft = CourseDraft(title=title, **fields)  # type: ignore[arg-type]
    return await handlers.create_course(CreateCourse(draft=draft), uow, INSTRUCTOR)


async def test_instructor_creates_a_draft_and_course_created_is_staged():
    uow = FakeCourseUnitOfWork()
    details = await _create(uow, price=Decimal("19.99"), tags=(" Rust ", "rust", "Systems"))
    course = details.course
    assert course.status is CourseStatus.DRAFT
    assert course.slug == "intro-to-rust"
    assert course.instructor_id == INSTRUCTOR.user_id
    assert course.tags == ["rust", "systems"]
    assert not course.is_free
    assert uow.commits == 1
    [raised] = uow.published
    assert isinstance(raised.event, CourseCreated)
    assert raised.aggregate_id == str(course.id)
    assert raised.event.slug == "intro-to-rust"


async def test_slugs_stay_unique_for_equal_titles():
    uow = FakeCourseUnitOfWork()
    slugs = [(await _create(uow)).course.slug for _ in range(3)]
    assert slugs == ["intro-to-rust", "intro-to-rust-2", "intro-to-rust-3"]


async def test_student_cannot_create_a_course():
    uow = FakeCourseUnitOfWork()
    with pytest.raises(PermissionDenied):
        await handlers.create_course(CreateCourse(CourseDraft(title="x")), uow, STUDENT)
    with pytest.raises(Unauthenticated):
        await handlers.create_course(CreateCourse(CourseDraft(title="x")), uow, ANONYMOUS)
    assert uow.published == []


async def test_discount_above_price_is_rejected_and_nothing_is_committed():
    uow = FakeCourseUnitOfWork()
    repository = uow.courses
    with pytest.raises(ValidationFailed) as raised:
        await _create(uow, price=Decimal("10"), discount_price=Decimal("12"))
    assert [v.field for v in raised.value.violations] == ["discountPrice"]
    assert uow.commits == 0
    assert repository.rows == {}


async def test_unknown_category_is_rejected():
    uow = FakeCourseUnitOfWork()
    with pytest.raises(CategoryNotFound):
        await _create(uow, category_id=uuid4())


async def test_draft_is_visible_to_owner_and_admin_only():
    uow = FakeCourseUnitOfWork()
    course = (await _create(uow)).course
    for caller in (INSTRUCTOR, ADMIN):
        found = await handlers.get_course(GetCourse(str(course.id)), uow, caller)
        assert found.course.id == course.id
    for caller in (STUDENT, ANONYMOUS):
        with pytest.raises(CourseNotFound):
            await handlers.get_course(GetCourse(course.slug), uow, caller)


async def test_published_course_is_found_by_slug_case_insensitively():
    uow = FakeCourseUnitOfWork()
    course = (await _create(uow)).course
    course.status = CourseStatus.PUBLISHED
    found = await handlers.get_course(GetCourse("Intro-To-Rust"), uow, ANONYMOUS)
    assert found.course.id == course.id
