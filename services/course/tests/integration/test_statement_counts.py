"""No N+1: every read path issues the same number of statements for few rows and for many."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from kernel.security import ANONYMOUS, Caller
from services.course.bootstrap import CourseService
from services.course.domain.model import Review
from services.course.service_layer.commands import (
    CourseFilter,
    CourseOrder,
    GetCourse,
    GetLesson,
    ListCourses,
    ListMyEnrollments,
    ListReviews,
    ListStudents,
    PageRequest,
)
from services.course.service_layer.handlers import courses, enrollments, outline, reviews
from services.course.tests.integration.seeding import (
    counted_statements,
    enrol_all,
    published_courses,
)

pytestmark = pytest.mark.integration
MAX_STATEMENTS = 6


async def _count(service: CourseService, read) -> tuple[int, Any]:
    with counted_statements(service.infra.database.engine) as statements:
        result = await read(service.uow(read_only=True))
    assert len(statements) <= MAX_STATEMENTS, statements
    return len(statements), result


async def test_course_list_of_5_and_of_100_costs_the_same(bare_course_service):
    service = bare_course_service
    query = ListCourses(CourseFilter(), CourseOrder.POPULAR, PageRequest(100))
    await published_courses(service, 5)
    few, page = await _count(service, lambda uow: courses.list_courses(query, uow))
    assert len(page.items) == 5
    await published_courses(service, 95)
    many, page = await _count(service, lambda uow: courses.list_courses(query, uow))
    assert len(page.items) == 100
    assert page.total == 100
    assert all(card.instructor.display_name == "Grace" for card in page.items)
    assert few == many


async def test_course_detail_with_2_and_with_50_lessons_costs_the_same(bare_course_service):
    service = bare_course_service
    [small] = await published_courses(service, 1, lessons=2)
    [large] = await published_courses(service, 1, lessons=50)
    counts = []
    for course, lessons in ((small, 2), (large, 50)):
        count, details = await _count(
            service, lambda uow, c=course: courses.get_course(GetCourse(str(c.id)), uow, ANONYMOUS)
        )
        assert sum(len(s.lessons) for s in details.sections) == lessons
        counts.append(count)
        lesson_id = details.sections[0].lessons[0].id
        owner = Caller(user_id=course.instructor_id, roles=frozenset({"instructor"}))
        lesson_count, _ = await _count(
            service, lambda uow, i=lesson_id, o=owner: outline.get_lesson(GetLesson(i), uow, o)
        )
        counts.append(lesson_count)
    assert counts[0] == counts[2]
    assert counts[1] == counts[3]


async def test_my_enrolments_of_2_and_of_30_cost_the_same(bare_course_service):
    service = bare_course_service
    few_courses = await published_courses(service, 2)
    many_courses = await published_courses(service, 30)
    few_student, many_student = uuid4(), uuid4()
    await enrol_all(service, few_courses, [few_student])
    await enrol_all(service, many_courses, [many_student])
    counts = []
    query = ListMyEnrollments(None, PageRequest(100))
    for student_id, expected in ((few_student, 2), (many_student, 30)):
        caller = Caller(user_id=student_id)
        count, page = await _count(
            service, lambda uow, c=caller: enrollments.list_my_enrollments(query, uow, c)
        )
        assert len(page.items) == expected
        assert {view.course.title[:13] for view in page.items} == {"Seeded course"}
        counts.append(count)
    assert counts[0] == counts[1]


async def test_students_and_reviews_of_2_and_of_30_cost_the_same(bare_course_service):
    service = bare_course_service
    small, large = await published_courses(service, 2)
    await enrol_all(service, [small], [uuid4() for _ in range(2)])
    await enrol_all(service, [large], [uuid4() for _ in range(30)])
    async with service.uow() as uow:
        for course, reviewers in ((small, 2), (large, 30)):
            for rating in range(reviewers):
                review = Review.write(
                    course_id=course.id,
                    user_id=uuid4(),
                    rating=rating % 5 + 1,
                    title="",
                    comment="",
                )
                await uow.reviews.add(review)
        await uow.commit()
    counts = []
    for course, expected in ((small, 2), (large, 30)):
        owner = Caller(user_id=course.instructor_id)
        query = ListStudents(course.id, None, PageRequest(100))
        count, page = await _count(
            service, lambda uow, q=query, o=owner: enrollments.list_students(q, uow, o)
        )
        assert len(page.items) == expected
        review_count, (found, histogram) = await _count(
            service,
            lambda uow, c=course: reviews.list_reviews(
                ListReviews(c.id, PageRequest(100)), uow, ANONYMOUS
            ),
        )
        assert len(found.items) == sum(histogram.values()) == expected
        counts.append((count, review_count))
    assert counts[0] == counts[1]
