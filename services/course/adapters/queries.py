"""SQL of the list routes: keyset pages plus a count, with the to-one relations joined in.

Each method issues a fixed number of statements (page + total, or one), whatever the page size.
Pages are ordered by a sort column and the id, and continue with a row-value comparison
`(column, id) < (:last_column, :last_id)` on the indexes named in migration 0002.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.pagination import InvalidPageToken
from services.course.adapters.repository import (
    enrollment_from_row,
    from_minor,
    review_from_row,
    to_minor,
)
from services.course.adapters.tables import (
    categories,
    courses,
    enrollments,
    instructor_profiles,
    reviews,
)
from services.course.domain.model import (
    CategoryRef,
    CourseCard,
    CourseStatus,
    Difficulty,
    Enrollment,
    EnrollmentStatus,
    EnrollmentView,
    InstructorProfile,
    Review,
)
from services.course.service_layer.commands import CourseFilter, CourseOrder, PageRequest
from services.course.service_layer.unit_of_work import CatalogueQueries, Page

_KeyParser = Callable[[Any], Any]
_LIKE_SPECIALS = re.compile(r"([\\%_])")
RATINGS = range(1, 6)

_CARD_COLUMNS = [
    courses.c.id.label("course_id"),
    courses.c.slug,
    courses.c.title,
    courses.c.short_description,
    courses.c.thumbnail_url,
    courses.c.instructor_id,
    instructor_profiles.c.display_name.label("instructor_name"),
    instructor_profiles.c.avatar_url.label("instructor_avatar"),
    courses.c.price_minor,
    courses.c.discount_price_minor,
    courses.c.currency,
    courses.c.difficulty,
    courses.c.language,
    courses.c.category_id,
    categories.c.name.label("category_name"),
    categories.c.slug.label("category_slug"),
    courses.c.tags,
    courses.c.status.label("course_status"),
    courses.c.duration_seconds,
    courses.c.lesson_count,
    courses.c.enrollment_count,
    courses.c.completion_count,
    courses.c.rating_average,
    courses.c.rating_count,
    courses.c.published_at,
    courses.c.updated_at.label("course_updated_at"),
    courses.c.version.label("course_version"),
]
# Courses with their instructor (replica) and live category: to-one joins, no extra queries.
_CARDS = courses.outerjoin(
    instructor_profiles, instructor_profiles.c.user_id == courses.c.instructor_id
).outerjoin(
    categories,
    sa.and_(categories.c.id == courses.c.category_id, categories.c.deleted_at.is_(None)),
)


def _card(row: Any) -> CourseCard:
    return CourseCard(
        id=row.course_id,
        slug=row.slug,
        title=row.title,
        short_description=row.short_description,
        thumbnail_url=row.thumbnail_url,
        instructor=InstructorProfile(
            id=row.instructor_id,
            display_name=row.instructor_name or "",
            avatar_url=row.instructor_avatar or "",
        ),
        price=from_minor(row.price_minor),
        discount_price=(
            None if row.discount_price_minor is None else from_minor(row.discount_price_minor)
        ),
        currency=row.currency,
        difficulty=Difficulty(row.difficulty) if row.difficulty else None,
        language=row.language,
        category=(
            CategoryRef(id=row.category_id, name=row.category_name, slug=row.category_slug)
            if row.category_name is not None
            else None
        ),
        tags=list(row.tags),
        status=CourseStatus(row.course_status),
        duration_seconds=row.duration_seconds,
        lesson_count=row.lesson_count,
        enrollment_count=row.enrollment_count,
        completion_count=row.completion_count,
        rating_average=row.rating_average,
        rating_count=row.rating_count,
        published_at=row.published_at,
        updated_at=row.course_updated_at,
        version=row.course_version,
    )


def _as_datetime(value: Any) -> datetime:
    return datetime.fromisoformat(value)


def _token_value(value: Any) -> Any:
    """A sort-key value as it travels in a page token (JSON)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


@dataclass(frozen=True)
class _Sort:
    """A keyset order: a sort column, the id as tie-breaker, one direction for both."""

    column: sa.ColumnElement[Any]
    id: sa.ColumnElement[Any]
    descending: bool
    parse: _KeyParser

    def after(self, key: list[Any] | None) -> list[sa.ColumnElement[bool]]:
        """`(sort, id) < (last sort, last id)` (`>` ascending); a malformed key: bad token."""
        if key is None:
            return []
        try:
            value, last_id = key
            last = sa.tuple_(
                sa.literal(self.parse(value), self.column.type), sa.literal(UUID(last_id))
            )
        except (TypeError, ValueError):
            raise InvalidPageToken() from None
        row = sa.tuple_(self.column, self.id)
        return [row < last if self.descending else row > last]

    def ordering(self) -> list[sa.ColumnElement[Any]]:
        """ORDER BY sort, id in the sort's direction."""
        columns = (self.column, self.id)
        return [c.desc() if self.descending else c.asc() for c in columns]


_ORDERS = {
    # ListCourses orderBy -> keyset order (served by the ix_courses_catalogue_* indexes)
    CourseOrder.NEWEST: _Sort(courses.c.published_at, courses.c.id, True, _as_datetime),
    CourseOrder.POPULAR: _Sort(courses.c.enrollment_count, courses.c.id, True, int),
    CourseOrder.RATING: _Sort(courses.c.rating_average, courses.c.id, True, float),
    CourseOrder.PRICE: _Sort(courses.c.price_minor, courses.c.id, False, int),
    CourseOrder.PRICE_DESC: _Sort(courses.c.price_minor, courses.c.id, True, int),
}


_BY_ENROLMENT = _Sort(enrollments.c.enrolled_at, enrollments.c.id, True, _as_datetime)


def _like(value: str) -> str:
    """A LIKE pattern matching `value` anywhere, with LIKE's wildcards escaped."""
    escaped = _LIKE_SPECIALS.sub(r"\\\1", value.lower())
    return f"%{escaped}%"


class SqlCatalogueQueries(CatalogueQueries):
    """List reads on the unit of work's connection."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        self._postgres = connection.dialect.name == "postgresql"

    async def _page(
        self,
        select_from: sa.FromClause,
        *,
        columns: Sequence[sa.ColumnElement[Any]],
        conditions: list[sa.ColumnElement[bool]],
        sort: _Sort,
        page: PageRequest,
    ) -> tuple[list[Any], int, list[Any] | None]:
        """Rows of one page, the total over all pages, and the key to continue after."""
        total = await self._connection.scalar(
            sa.select(sa.func.count()).select_from(select_from).where(*conditions)
        )
        rows = (
            await self._connection.execute(
                sa.select(*columns, sort.column.label("sort_value"), sort.id.label("sort_id"))
                .select_from(select_from)
                .where(*conditions, *sort.after(page.after))
                .order_by(*sort.ordering())
                .limit(page.size + 1)
            )
        ).all()
        next_key = None
        if len(rows) > page.size:
            rows = rows[: page.size]
            last = rows[-1]
            next_key = [_token_value(last.sort_value), str(last.sort_id)]
        return list(rows), int(total or 0), next_key

    def _search(self, words: Sequence[str]) -> list[sa.ColumnElement[bool]]:
        """PostgreSQL: prefix full-text search on the GIN-indexed search_vector; SQLite: LIKE."""
        if not words:
            return []
        if self._postgres:
            query = " & ".join(f"{word}:*" for word in words)
            vector: sa.ColumnElement[Any] = sa.literal_column("courses.search_vector")
            return [vector.op("@@")(sa.func.to_tsquery("simple", query))]
        texts = [
            sa.func.lower(courses.c.title),
            sa.func.lower(courses.c.short_description),
            sa.func.lower(courses.c.description),
            sa.func.lower(sa.cast(courses.c.tags, sa.Text)),
        ]
        return [sa.or_(*(text.like(_like(word), escape="\\") for text in texts)) for word in words]

    def _has_tag(self, tag: str) -> sa.ColumnElement[bool]:
        if self._postgres:
            # JSONB containment, served by the GIN index ix_courses_tags.
            return sa.type_coerce(courses.c.tags, JSONB).contains([tag])
        items = sa.func.json_each(courses.c.tags).table_valued("value")
        return sa.exists(sa.select(sa.literal(1)).select_from(items).where(items.c.value == tag))

    def _catalogue_conditions(
        self, course_filter: CourseFilter, category_ids: frozenset[UUID] | None
    ) -> list[sa.ColumnElement[bool]]:
        f = course_filter
        conditions: list[sa.ColumnElement[bool]] = [
            courses.c.status == CourseStatus.PUBLISHED.value,
            courses.c.deleted_at.is_(None),
            *self._search(f.words),
        ]
        if category_ids is not None:
            conditions.append(courses.c.category_id.in_(category_ids))
        if f.difficulty is not None:
            conditions.append(courses.c.difficulty == f.difficulty.value)
        if f.language is not None:
            conditions.append(courses.c.language == f.language)
        if f.is_free is not None:
            conditions.append(
                courses.c.price_minor == 0 if f.is_free else courses.c.price_minor > 0
            )
        if f.min_price is not None:
            conditions.append(courses.c.price_minor >= to_minor(f.min_price))
        if f.max_price is not None:
            conditions.append(courses.c.price_minor <= to_minor(f.max_price))
        if f.min_rating is not None:
            conditions.append(courses.c.rating_average >= f.min_rating)
        if f.instructor_id is not None:
            conditions.append(courses.c.instructor_id == f.instructor_id)
        if f.tag is not None:
            conditions.append(self._has_tag(f.tag))
        return conditions

    async def courses(
        self,
        course_filter: CourseFilter,
        category_ids: frozenset[UUID] | None,
        order: CourseOrder,
        page: PageRequest,
    ) -> Page[CourseCard]:
        """Published courses matching the filter: two statements."""
        rows, total, next_key = await self._page(
            _CARDS,
            columns=_CARD_COLUMNS,
            conditions=self._catalogue_conditions(course_filter, category_ids),
            sort=_ORDERS[order],
            page=page,
        )
        return Page([_card(row) for row in rows], total, next_key)

    async def teaching(
        self, instructor_id: UUID, status: CourseStatus | None, page: PageRequest
    ) -> Page[CourseCard]:
        """An instructor's live courses by last update (ix_courses_instructor_updated)."""
        conditions = [courses.c.instructor_id == instructor_id, courses.c.deleted_at.is_(None)]
        if status is not None:
            conditions.append(courses.c.status == status.value)
        rows, total, next_key = await self._page(
            _CARDS,
            columns=_CARD_COLUMNS,
            conditions=conditions,
            sort=_Sort(courses.c.updated_at, courses.c.id, True, _as_datetime),
            page=page,
        )
        return Page([_card(row) for row in rows], total, next_key)

    async def enrollments_of(
        self, user_id: UUID, status: EnrollmentStatus | None, page: PageRequest
    ) -> Page[EnrollmentView]:
        """A student's enrolments with their course cards: two statements."""
        conditions = [
            enrollments.c.user_id == user_id,
            courses.c.deleted_at.is_(None),
            _status_condition(status),
        ]
        rows, total, next_key = await self._page(
            enrollments.join(_CARDS, courses.c.id == enrollments.c.course_id),
            # The card's course id is the enrolment's course_id column.
            columns=[*enrollments.c, *_CARD_COLUMNS[1:]],
            conditions=conditions,
            sort=_BY_ENROLMENT,
            page=page,
        )
        return Page(
            [EnrollmentView(enrollment_from_row(row), _card(row)) for row in rows],
            total,
            next_key,
        )

    async def students_of(
        self, course_id: UUID, status: EnrollmentStatus | None, page: PageRequest
    ) -> Page[Enrollment]:
        """A course's enrolments (ix_enrollments_course_enrolled): two statements."""
        rows, total, next_key = await self._page(
            enrollments,
            columns=list(enrollments.c),
            conditions=[enrollments.c.course_id == course_id, _status_condition(status)],
            sort=_BY_ENROLMENT,
            page=page,
        )
        return Page([enrollment_from_row(row) for row in rows], total, next_key)

    async def reviews_of(self, course_id: UUID, page: PageRequest) -> Page[Review]:
        """Live reviews newest first (ix_reviews_course_created): two statements."""
        rows, total, next_key = await self._page(
            reviews,
            columns=list(reviews.c),
            conditions=[reviews.c.course_id == course_id, reviews.c.deleted_at.is_(None)],
            sort=_Sort(reviews.c.created_at, reviews.c.id, True, _as_datetime),
            page=page,
        )
        return Page([review_from_row(row) for row in rows], total, next_key)

    async def rating_histogram(self, course_id: UUID) -> dict[int, int]:
        """Live reviews per rating (ix_reviews_course_rating), every rating present."""
        result = await self._connection.execute(
            sa.select(reviews.c.rating, sa.func.count())
            .where(reviews.c.course_id == course_id, reviews.c.deleted_at.is_(None))
            .group_by(reviews.c.rating)
        )
        counts = {int(rating): int(count) for rating, count in result}
        return {rating: counts.get(rating, 0) for rating in RATINGS}

    async def popular_course_ids(self, limit: int) -> list[UUID]:
        """The most enrolled catalogue courses (ix_courses_catalogue_popular)."""
        result = await self._connection.execute(
            sa.select(courses.c.id)
            .where(courses.c.status == CourseStatus.PUBLISHED.value, courses.c.deleted_at.is_(None))
            .order_by(courses.c.enrollment_count.desc(), courses.c.id.desc())
            .limit(limit)
        )
        return list(result.scalars())


def _status_condition(status: EnrollmentStatus | None) -> sa.ColumnElement[bool]:
    """The asked status, or every status but cancelled."""
    if status is None:
        return enrollments.c.status != EnrollmentStatus.CANCELLED.value
    return enrollments.c.status == status.value
