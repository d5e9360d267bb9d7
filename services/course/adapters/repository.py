"""SQL for the course service: rows <-> domain objects, one translation, no per-row queries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.course.adapters.tables import categories, courses, instructor_profiles
from services.course.domain.errors import SlugTaken
from services.course.domain.model import (
    Category,
    Course,
    CourseStatus,
    Difficulty,
    InstructorProfile,
)
from services.course.service_layer.unit_of_work import CatalogueReader, CourseRepository


def to_minor(amount: Decimal) -> int:
    """Decimal currency amount -> integer minor units."""
    return int((amount * 100).to_integral_value())


def from_minor(minor: int) -> Decimal:
    """Integer minor units -> Decimal with two places."""
    return (Decimal(minor) / 100).quantize(Decimal("0.01"))


def course_row(course: Course) -> dict[str, Any]:
    """Column values of a course."""
    return {
        "id": course.id,
        "slug": course.slug,
        "title": course.title,
        "short_description": course.short_description,
        "description": course.description,
        "thumbnail_url": course.thumbnail_url,
        "preview_video_url": course.preview_video_url,
        "instructor_id": course.instructor_id,
        "price_minor": to_minor(course.price),
        "discount_price_minor": (
            None if course.discount_price is None else to_minor(course.discount_price)
        ),
        "currency": course.currency,
        "difficulty": course.difficulty.value if course.difficulty else None,
        "language": course.language,
        "category_id": course.category_id,
        "tags": list(course.tags),
        "prerequisites": list(course.prerequisites),
        "learning_outcomes": list(course.learning_outcomes),
        "target_audience": course.target_audience,
        "status": course.status.value,
        "duration_seconds": course.duration_seconds,
        "lesson_count": course.lesson_count,
        "enrollment_count": course.enrollment_count,
        "completion_count": course.completion_count,
        "rating_average": course.rating_average,
        "rating_count": course.rating_count,
        "published_at": course.published_at,
        "version": course.version,
        "created_at": course.created_at,
        "updated_at": course.updated_at,
        "created_by": course.created_by,
        "updated_by": course.updated_by,
        "deleted_at": course.deleted_at,
        "deleted_by": course.deleted_by,
    }


def course_from_row(row: Any) -> Course:
    """A course aggregate from a `courses` row."""
    return Course(
        id=row.id,
        slug=row.slug,
        title=row.title,
        instructor_id=row.instructor_id,
        short_description=row.short_description,
        description=row.description,
        thumbnail_url=row.thumbnail_url,
        preview_video_url=row.preview_video_url,
        price=from_minor(row.price_minor),
        discount_price=(
            None if row.discount_price_minor is None else from_minor(row.discount_price_minor)
        ),
        currency=row.currency,
        difficulty=Difficulty(row.difficulty) if row.difficulty else None,
        language=row.language,
        category_id=row.category_id,
        tags=list(row.tags),
        prerequisites=list(row.prerequisites),
        learning_outcomes=list(row.learning_outcomes),
        target_audience=row.target_audience,
        status=CourseStatus(row.status),
        duration_seconds=row.duration_seconds,
        lesson_count=row.lesson_count,
        enrollment_count=row.enrollment_count,
        completion_count=row.completion_count,
        rating_average=row.rating_average,
        rating_count=row.rating_count,
        published_at=row.published_at,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        created_by=row.created_by,
        updated_by=row.updated_by,
        deleted_at=row.deleted_at,
        deleted_by=row.deleted_by,
    )


class SqlCourseRepository(CourseRepository):
    """Courses in the `courses` table."""

    def __init__(self, connection: AsyncConnection) -> None:
        super().__init__()
        self._connection = connection

    async def add(self, course: Course) -> None:
        """Insert; a slug collision raises SlugTaken."""
        try:
            async with self._connection.begin_nested():
                await self._connection.execute(sa.insert(courses).values(course_row(course)))
        except IntegrityError as exc:
            if "slug" in str(exc.orig).lower():
                raise SlugTaken(f"Slug {course.slug} is taken") from exc
            raise
        self._track(course)

    async def get(self, course_id: UUID) -> Course | None:
        """By primary key."""
        row = (
            await self._connection.execute(sa.select(courses).where(courses.c.id == course_id))
        ).first()
        return self._track(course_from_row(row)) if row else None

    async def get_by_slug(self, slug: str) -> Course | None:
        """By slug (unique index)."""
        row = (
            await self._connection.execute(sa.select(courses).where(courses.c.slug == slug))
        ).first()
        return self._track(course_from_row(row)) if row else None

    async def slugs_like(self, base: str) -> set[str]:
        """Slugs equal to base or base-<suffix> (one indexed range scan)."""
        result = await self._connection.execute(
            sa.select(courses.c.slug).where(
                sa.or_(courses.c.slug == base, courses.c.slug.like(f"{base}-%"))
            )
        )
        return set(result.scalars())


class SqlCatalogueReader(CatalogueReader):
    """Instructor replica and categories."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def instructor(self, instructor_id: UUID) -> InstructorProfile:
        """The replicated profile, or a bare one if no user event has arrived yet."""
        row = (
            await self._connection.execute(
                sa.select(instructor_profiles).where(instructor_profiles.c.user_id == instructor_id)
            )
        ).first()
        if row is None:
            return InstructorProfile(id=instructor_id)
        return InstructorProfile(
            id=row.user_id, display_name=row.display_name, avatar_url=row.avatar_url
        )

    async def category(self, category_id: UUID) -> Category | None:
        """A live category."""
        row = (
            await self._connection.execute(
                sa.select(categories).where(
                    categories.c.id == category_id, categories.c.deleted_at.is_(None)
                )
            )
        ).first()
        if row is None:
            return None
        return Category(
            id=row.id, name=row.name, slug=row.slug, parent_id=row.parent_id, order=row.position
        )
