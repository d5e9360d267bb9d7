"""Catalogue filters, orders and keyset pages on the real databases (full-text search on
PostgreSQL, LIKE on SQLite)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from kernel.pagination import InvalidPageToken
from services.course.bootstrap import CourseService
from services.course.domain.model import Category, Difficulty
from services.course.service_layer.commands import (
    CourseFilter,
    CourseOrder,
    ListCourses,
    PageRequest,
)
from services.course.service_layer.handlers import courses
from services.course.tests.integration.seeding import published_courses

pytestmark = pytest.mark.integration


async def _titles(
    service: CourseService,
    order: CourseOrder = CourseOrder.NEWEST,
    page: PageRequest | None = None,
    **filters: object,
) -> list[str]:
    query = ListCourses(CourseFilter(**filters), order, page or PageRequest(100))  # type: ignore[arg-type]
    found = await courses.list_courses(query, service.uow(read_only=True))
    return [card.title for card in found.items]


@dataclass(frozen=True)
class Spec:
    title: str
    price: Decimal
    difficulty: Difficulty
    language: str
    tag: str
    category: str | None
    rating: float
    students: int
    by_teacher: bool = False


SPECS = [
    Spec("Rust ownership", Decimal(0), Difficulty.ADVANCED, "en", "rust", None, 4.5, 10),
    Spec("Web basics", Decimal(15), Difficulty.BEGINNER, "en", "html", "child", 3.0, 50),
    Spec("Cuisine 100%_fun", Decimal(30), Difficulty.BEGINNER, "fr", "food", "root", 5.0, 5),
    Spec("Go services", Decimal("9.99"), Difficulty.INTERMEDIATE, "en", "go", None, 0, 20, True),
]


async def _catalogue(service: CourseService) -> dict[str, UUID]:
    """Four courses that differ in every filterable way."""
    async with service.uow() as uow:
        root = Category.create(name="Dev", slug="dev", parent_id=None, order=0, by=uuid4())
        child = Category.create(name="Web", slug="web", parent_id=root.id, order=0, by=uuid4())
        await uow.categories.add(root)
        await uow.categories.add(child)
        await uow.commit()
    ids = {"root": root.id, "child": child.id, "teacher": uuid4()}
    seeded = []
    for spec in SPECS:
        teacher = ids["teacher"] if spec.by_teacher else None
        [course] = await published_courses(
            service, 1, title=spec.title, price=spec.price, instructor_id=teacher
        )
        seeded.append(course)
    async with service.uow() as uow:
        for course, spec in zip(seeded, SPECS, strict=True):
            course.difficulty, course.language = spec.difficulty, spec.language
            course.tags = [spec.tag]
            course.category_id = ids[spec.category] if spec.category else None
            await uow.courses.save(course)
            await uow.courses.adjust_rating(course.id, count=2, total=int(spec.rating * 2))
            await uow.courses.adjust_enrollments(course.id, enrolled=spec.students, completed=0)
        await uow.commit()
    return ids


async def test_every_filter_of_the_catalogue(bare_course_service):
    service = bare_course_service
    ids = await _catalogue(service)
    assert await _titles(service, words=("rust",)) == ["Rust ownership 0"]
    assert await _titles(service, words=("basi",)) == ["Web basics 0"]  # prefixes match
    assert await _titles(service, words=("html",)) == ["Web basics 0"]  # tags are searched
    assert await _titles(service, words=("100",)) == ["Cuisine 100%_fun 0"]
    assert await _titles(service, words=("go", "services")) == ["Go services 0"]
    assert await _titles(service, words=("rust", "web")) == []
    assert set(await _titles(service, category_id=ids["root"])) == {
        "Web basics 0",
        "Cuisine 100%_fun 0",
    }
    assert await _titles(service, category_id=ids["child"]) == ["Web basics 0"]
    assert await _titles(service, category_id=uuid4()) == []
    assert await _titles(service, difficulty=Difficulty.INTERMEDIATE) == ["Go services 0"]
    assert await _titles(service, language="fr") == ["Cuisine 100%_fun 0"]
    assert await _titles(service, is_free=True) == ["Rust ownership 0"]
    assert len(await _titles(service, is_free=False)) == 3
    assert set(await _titles(service, min_price=Decimal("9.99"), max_price=Decimal(15))) == {
        "Web basics 0",
        "Go services 0",
    }
    assert set(await _titles(service, min_rating=4.5)) == {"Rust ownership 0", "Cuisine 100%_fun 0"}
    assert await _titles(service, instructor_id=ids["teacher"]) == ["Go services 0"]
    assert await _titles(service, tag="food") == ["Cuisine 100%_fun 0"]


async def test_every_order_and_keyset_pages(bare_course_service):
    service = bare_course_service
    await _catalogue(service)
    prefixes = {
        CourseOrder.POPULAR: ["Web", "Go", "Rust", "Cuisine"],
        CourseOrder.RATING: ["Cuisine", "Rust", "Web", "Go"],
        CourseOrder.PRICE: ["Rust", "Go", "Web", "Cuisine"],
        CourseOrder.PRICE_DESC: ["Cuisine", "Web", "Go", "Rust"],
        CourseOrder.NEWEST: ["Go", "Cuisine", "Web", "Rust"],
    }
    for order, expected in prefixes.items():
        walked: list[str] = []
        page = PageRequest(3)
        while True:
            found = await courses.list_courses(
                ListCourses(CourseFilter(), order, page), service.uow(read_only=True)
            )
            assert found.total == 4
            walked.extend(card.title.split()[0] for card in found.items)
            if found.next_key is None:
                break
            page = PageRequest(3, found.next_key)
        assert walked == expected, order
    with pytest.raises(InvalidPageToken):
        await _titles(service, CourseOrder.PRICE, PageRequest(3, ["not a number", str(uuid4())]))
