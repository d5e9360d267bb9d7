"""SQL of the write side: rows <-> domain objects, one translation, no per-row queries.

Every `save` is `UPDATE ... WHERE id = :id AND version = :stored_version`: zero rows means
another writer got there first (VERSION_CONFLICT). Every write also records in `StaleViews`
which cached views it touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel.clock import utc_now
from services.course.adapters.stale import StaleViews
from services.course.adapters.tables import (
    categories,
    courses,
    enrollments,
    instructor_profiles,
    lessons,
    quiz_attempts,
    quiz_questions,
    reviews,
    sections,
)
from services.course.domain.errors import (
    AlreadyEnrolled,
    ReviewAlreadyExists,
    SlugTaken,
    VersionConflict,
)
from services.course.domain.events import OutlineTotals, RatingTotals
from services.course.domain.model import (
    Category,
    Course,
    CourseStatus,
    Difficulty,
    Enrollment,
    EnrollmentStatus,
    InstructorProfile,
    Lesson,
    LessonResource,
    QuizAttempt,
    QuizQuestion,
    Review,
    Section,
    SoftDeletable,
    Versioned,
)
from services.course.service_layer.unit_of_work import (
    CategoryRepository,
    CourseRepository,
    EnrollmentRepository,
    InstructorRepository,
    LessonRepository,
    QuizAttemptRepository,
    QuizQuestionRepository,
    ReviewRepository,
    SectionRepository,
)

LIVE_LESSON = lessons.c.deleted_at.is_(None)


def to_minor(amount: Decimal) -> int:
    """Decimal currency amount -> integer minor units."""
    return int((amount * 100).to_integral_value())


def from_minor(minor: int) -> Decimal:
    """Integer minor units -> Decimal with two places."""
    return (Decimal(minor) / 100).quantize(Decimal("0.01"))


def _audit(entity: Versioned) -> dict[str, Any]:
    values = {
        "version": entity.version,
        "created_at": entity.created_at,
        "updated_at": entity.updated_at,
        "created_by": entity.created_by,
        "updated_by": entity.updated_by,
    }
    if isinstance(entity, SoftDeletable):
        values["deleted_at"] = entity.deleted_at
        values["deleted_by"] = entity.deleted_by
    return values


def _audit_from(row: Any, *, soft_delete: bool = True) -> dict[str, Any]:
    values = {
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "created_by": row.created_by,
        "updated_by": row.updated_by,
    }
    if soft_delete:
        values["deleted_at"] = row.deleted_at
        values["deleted_by"] = row.deleted_by
    return values


async def _insert_unique(
    connection: AsyncConnection, statement: Any, on_duplicate: Exception
) -> None:
    """Insert in a savepoint; a unique-index violation raises `on_duplicate`."""
    try:
        async with connection.begin_nested():
            await connection.execute(statement)
    except IntegrityError as exc:
        raise on_duplicate from exc


async def _update_versioned(
    connection: AsyncConnection, table: sa.Table, entity: Versioned, values: dict[str, Any]
) -> None:
    """Write `values` if the row is still at the entity's stored version."""
    result = await connection.execute(
        sa.update(table)
        .where(table.c.id == entity.id, table.c.version == entity.stored_version)
        .values(values)
    )
    if result.rowcount != 1:
        raise VersionConflict(entity.kind, entity.stored_version)
    entity.mark_stored()


# ----------------------------------------------------------------------------- rows


def course_row(course: Course) -> dict[str, Any]:
    """Column values of a course (the counters included: written on insert only)."""
    return {
        "id": course.id,
        "slug": course.slug,
        **_catalogue_fields(course),
        "instructor_id": course.instructor_id,
        "duration_seconds": course.duration_seconds,
        "lesson_count": course.lesson_count,
        "enrollment_count": course.enrollment_count,
        "completion_count": course.completion_count,
        "rating_average": course.rating_average,
        "rating_count": course.rating_count,
        **_audit(course),
    }


def _catalogue_fields(course: Course) -> dict[str, Any]:
    """The columns an author's write may change (never the counters, which other writes own)."""
    return {
        "title": course.title,
        "short_description": course.short_description,
        "description": course.description,
        "thumbnail_url": course.thumbnail_url,
        "preview_video_url": course.preview_video_url,
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
        "published_at": course.published_at,
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
        **_audit_from(row),
    )


def category_from_row(row: Any) -> Category:
    """A category from a `categories` row."""
    return Category(
        id=row.id,
        name=row.name,
        slug=row.slug,
        parent_id=row.parent_id,
        order=row.position,
        **_audit_from(row),
    )


def section_from_row(row: Any) -> Section:
    """A section from a `sections` row."""
    return Section(
        id=row.id, course_id=row.course_id, title=row.title, order=row.position, **_audit_from(row)
    )


def lesson_row(lesson: Lesson) -> dict[str, Any]:
    """Column values of a lesson."""
    return {
        "id": lesson.id,
        "course_id": lesson.course_id,
        "section_id": lesson.section_id,
        "title": lesson.title,
        "description": lesson.description,
        "position": lesson.order,
        "video_url": lesson.video_url,
        "video_provider": lesson.video_provider,
        "thumbnail_url": lesson.thumbnail_url,
        "duration_seconds": lesson.duration_seconds,
        "is_preview": lesson.is_preview,
        "transcript_url": lesson.transcript_url,
        "resources": [{"title": r.title, "url": r.url} for r in lesson.resources],
        **_audit(lesson),
    }


def lesson_from_row(row: Any) -> Lesson:
    """A lesson from a `lessons` row."""
    return Lesson(
        id=row.id,
        course_id=row.course_id,
        section_id=row.section_id,
        title=row.title,
        order=row.position,
        description=row.description,
        video_url=row.video_url,
        video_provider=row.video_provider,
        thumbnail_url=row.thumbnail_url,
        duration_seconds=row.duration_seconds,
        is_preview=row.is_preview,
        transcript_url=row.transcript_url,
        resources=[LessonResource(title=r["title"], url=r["url"]) for r in row.resources],
        **_audit_from(row),
    )


def question_row(question: QuizQuestion) -> dict[str, Any]:
    """Column values of a quiz question."""
    return {
        "id": question.id,
        "lesson_id": question.lesson_id,
        "course_id": question.course_id,
        "prompt": question.prompt,
        "options": list(question.options),
        "correct_option": question.correct_option,
        "explanation": question.explanation,
        "timestamp_seconds": question.timestamp_seconds,
        **_audit(question),
    }


def question_from_row(row: Any) -> QuizQuestion:
    """A quiz question from a `quiz_questions` row."""
    return QuizQuestion(
        id=row.id,
        lesson_id=row.lesson_id,
        course_id=row.course_id,
        prompt=row.prompt,
        options=list(row.options),
        correct_option=row.correct_option,
        explanation=row.explanation,
        timestamp_seconds=row.timestamp_seconds,
        **_audit_from(row),
    )


def enrollment_row(enrollment: Enrollment) -> dict[str, Any]:
    """Column values of an enrolment."""
    return {
        "id": enrollment.id,
        "course_id": enrollment.course_id,
        "user_id": enrollment.user_id,
        "status": enrollment.status.value,
        "progress_percent": enrollment.progress_percent,
        "progress_version": enrollment.progress_version,
        "enrolled_at": enrollment.enrolled_at,
        "activated_at": enrollment.activated_at,
        "completed_at": enrollment.completed_at,
        "cancelled_at": enrollment.cancelled_at,
        "last_accessed_at": enrollment.last_accessed_at,
        **_audit(enrollment),
    }


def enrollment_from_row(row: Any) -> Enrollment:
    """An enrolment from an `enrollments` row (columns may come from a join)."""
    return Enrollment(
        id=row.id,
        course_id=row.course_id,
        user_id=row.user_id,
        status=EnrollmentStatus(row.status),
        progress_percent=row.progress_percent,
        progress_version=row.progress_version,
        enrolled_at=row.enrolled_at,
        activated_at=row.activated_at,
        completed_at=row.completed_at,
        cancelled_at=row.cancelled_at,
        last_accessed_at=row.last_accessed_at,
        **_audit_from(row, soft_delete=False),
    )


def review_from_row(row: Any) -> Review:
    """A review from a `reviews` row."""
    return Review(
        id=row.id,
        course_id=row.course_id,
        user_id=row.user_id,
        rating=row.rating,
        title=row.title,
        comment=row.comment,
        **_audit_from(row),
    )


# ----------------------------------------------------------------------------- repositories


class SqlCourseRepository(CourseRepository):
    """Courses in the `courses` table."""

    def __init__(self, connection: AsyncConnection, stale: StaleViews) -> None:
        super().__init__()
        self._connection = connection
        self._stale = stale

    async def add(self, course: Course) -> None:
        """Insert; a slug collision raises SlugTaken."""
        await _insert_unique(
            self._connection,
            sa.insert(courses).values(course_row(course)),
            SlugTaken(f"Slug {course.slug} is taken"),
        )
        self._stale.slug(course.slug)
        self._track(course)

    async def get(self, course_id: UUID, *, for_update: bool = False) -> Course | None:
        """By primary key (`for_update`: row lock on PostgreSQL; SQLite writers are serial)."""
        statement = sa.select(courses).where(courses.c.id == course_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await self._connection.execute(statement)).first()
        return self._track(course_from_row(row)) if row else None

    async def id_for_slug(self, slug: str) -> UUID | None:
        """By slug (unique index)."""
        found: UUID | None = await self._connection.scalar(
            sa.select(courses.c.id).where(courses.c.slug == slug)
        )
        return found

    async def slugs_like(self, base: str) -> set[str]:
        """Slugs equal to base or base-<suffix> (one indexed range scan)."""
        result = await self._connection.execute(
            sa.select(courses.c.slug).where(
                sa.or_(courses.c.slug == base, courses.c.slug.like(f"{base}-%"))
            )
        )
        return set(result.scalars())

    async def save(self, course: Course) -> None:
        """Author fields, status and deletion, if nobody else wrote since we read."""
        await _update_versioned(
            self._connection, courses, course, {**_catalogue_fields(course), **_audit(course)}
        )
        self._stale.course(course.id)

    async def recount_outline(self, course_id: UUID) -> OutlineTotals:
        """Lesson count and duration recomputed from the live lessons, in one statement."""
        row = (
            await self._connection.execute(
                sa.update(courses)
                .where(courses.c.id == course_id)
                .values(
                    lesson_count=sa.select(sa.func.count(lessons.c.id))
                    .where(lessons.c.course_id == course_id, LIVE_LESSON)
                    .scalar_subquery(),
                    duration_seconds=sa.select(
                        sa.func.coalesce(sa.func.sum(lessons.c.duration_seconds), 0)
                    )
                    .where(lessons.c.course_id == course_id, LIVE_LESSON)
                    .scalar_subquery(),
                )
                .returning(courses.c.lesson_count, courses.c.duration_seconds)
            )
        ).one()
        self._stale.course(course_id)
        return OutlineTotals(lesson_count=row.lesson_count, duration_seconds=row.duration_seconds)

    async def adjust_enrollments(self, course_id: UUID, *, enrolled: int, completed: int) -> None:
        """Relative update: concurrent enrolments never lose a count."""
        await self._connection.execute(
            sa.update(courses)
            .where(courses.c.id == course_id)
            .values(
                enrollment_count=courses.c.enrollment_count + enrolled,
                completion_count=courses.c.completion_count + completed,
            )
        )
        self._stale.course(course_id)

    async def adjust_rating(self, course_id: UUID, *, count: int, total: int) -> RatingTotals:
        """Relative update of count and sum; the average is derived in the same statement."""
        new_count = courses.c.rating_count + count
        new_sum = courses.c.rating_sum + total
        row = (
            await self._connection.execute(
                sa.update(courses)
                .where(courses.c.id == course_id)
                .values(
                    rating_count=new_count,
                    rating_sum=new_sum,
                    rating_average=sa.case(
                        (new_count > 0, sa.cast(new_sum, sa.Float) / new_count), else_=0.0
                    ),
                )
                .returning(courses.c.rating_average, courses.c.rating_count)
            )
        ).one()
        self._stale.course(course_id)
        return RatingTotals(average=row.rating_average, count=row.rating_count)


class SqlCategoryRepository(CategoryRepository):
    """Categories in the `categories` table."""

    def __init__(self, connection: AsyncConnection, stale: StaleViews) -> None:
        self._connection = connection
        self._stale = stale

    def _values(self, category: Category) -> dict[str, Any]:
        return {
            "name": category.name,
            "slug": category.slug,
            "parent_id": category.parent_id,
            "position": category.order,
            **_audit(category),
        }

    async def add(self, category: Category) -> None:
        """Insert; a slug collision raises SlugTaken."""
        await _insert_unique(
            self._connection,
            sa.insert(categories).values(id=category.id, **self._values(category)),
            SlugTaken(f"Slug {category.slug} is taken"),
        )
        self._stale.category_tree()

    async def get(self, category_id: UUID) -> Category | None:
        """A live category."""
        row = (
            await self._connection.execute(
                sa.select(categories).where(
                    categories.c.id == category_id, categories.c.deleted_at.is_(None)
                )
            )
        ).first()
        return category_from_row(row) if row else None

    async def live(self) -> list[Category]:
        """Every live category (a small table)."""
        result = await self._connection.execute(
            sa.select(categories).where(categories.c.deleted_at.is_(None))
        )
        return [category_from_row(row) for row in result]

    async def save(self, category: Category) -> None:
        """Write back; a slug collision raises SlugTaken."""
        try:
            async with self._connection.begin_nested():
                await _update_versioned(
                    self._connection, categories, category, self._values(category)
                )
        except IntegrityError as exc:
            raise SlugTaken(f"Slug {category.slug} is taken") from exc
        self._stale.category_tree()

    async def slugs_like(self, base: str) -> set[str]:
        """Slugs equal to base or base-<suffix>."""
        result = await self._connection.execute(
            sa.select(categories.c.slug).where(
                sa.or_(categories.c.slug == base, categories.c.slug.like(f"{base}-%"))
            )
        )
        return set(result.scalars())

    async def has_courses(self, category_id: UUID) -> bool:
        """A live course filed under the category (ix_courses_category_id)."""
        found = await self._connection.scalar(
            sa.select(courses.c.id)
            .where(courses.c.category_id == category_id, courses.c.deleted_at.is_(None))
            .limit(1)
        )
        return found is not None


class SqlSectionRepository(SectionRepository):
    """Sections in the `sections` table."""

    def __init__(self, connection: AsyncConnection, stale: StaleViews) -> None:
        self._connection = connection
        self._stale = stale

    async def add(self, *new_sections: Section) -> None:
        """Insert (one statement for many)."""
        if not new_sections:
            return
        await self._connection.execute(
            sa.insert(sections),
            [
                {
                    "id": s.id,
                    "course_id": s.course_id,
                    "title": s.title,
                    "position": s.order,
                    **_audit(s),
                }
                for s in new_sections
            ],
        )
        for section in new_sections:
            self._stale.course(section.course_id)

    async def get(self, section_id: UUID) -> Section | None:
        """A live section."""
        row = (
            await self._connection.execute(
                sa.select(sections).where(
                    sections.c.id == section_id, sections.c.deleted_at.is_(None)
                )
            )
        ).first()
        return section_from_row(row) if row else None

    async def of_course(self, course_id: UUID) -> list[Section]:
        """Live sections in order (ix_sections_course_position)."""
        result = await self._connection.execute(
            sa.select(sections)
            .where(sections.c.course_id == course_id, sections.c.deleted_at.is_(None))
            .order_by(sections.c.position)
        )
        return [section_from_row(row) for row in result]

    async def save(self, section: Section) -> None:
        """Title and deletion, if nobody else wrote since we read."""
        await _update_versioned(
            self._connection,
            sections,
            section,
            {"title": section.title, "position": section.order, **_audit(section)},
        )
        self._stale.course(section.course_id)

    async def save_orders(self, moved: Sequence[Section]) -> None:
        """Positions of sections renumbered together (one executemany; the course is locked)."""
        if not moved:
            return
        await self._connection.execute(
            sa.update(sections)
            .where(sections.c.id == sa.bindparam("section_id"))
            .values(
                position=sa.bindparam("new_position"),
                version=sa.bindparam("new_version"),
                updated_at=sa.bindparam("new_updated_at"),
                updated_by=sa.bindparam("new_updated_by"),
            ),
            [
                {
                    "section_id": s.id,
                    "new_position": s.order,
                    "new_version": s.version,
                    "new_updated_at": s.updated_at,
                    "new_updated_by": s.updated_by,
                }
                for s in moved
            ],
        )
        for section in moved:
            section.mark_stored()
            self._stale.course(section.course_id)


class SqlLessonRepository(LessonRepository):
    """Lessons in the `lessons` table."""

    def __init__(self, connection: AsyncConnection, stale: StaleViews) -> None:
        super().__init__()
        self._connection = connection
        self._stale = stale

    async def add(self, *new_lessons: Lesson) -> None:
        """Insert (one statement for many)."""
        if not new_lessons:
            return
        await self._connection.execute(
            sa.insert(lessons), [lesson_row(lesson) for lesson in new_lessons]
        )
        for lesson in new_lessons:
            self._track(lesson)
            self._stale.course(lesson.course_id)

    async def get(self, lesson_id: UUID) -> Lesson | None:
        """A live lesson."""
        row = (
            await self._connection.execute(
                sa.select(lessons).where(lessons.c.id == lesson_id, LIVE_LESSON)
            )
        ).first()
        return self._track(lesson_from_row(row)) if row else None

    async def of_course(self, course_id: UUID) -> list[Lesson]:
        """Live lessons of a course (ix_lessons_course_id)."""
        result = await self._connection.execute(
            sa.select(lessons)
            .where(lessons.c.course_id == course_id, LIVE_LESSON)
            .order_by(lessons.c.section_id, lessons.c.position)
        )
        return [self._track(lesson_from_row(row)) for row in result]

    async def of_section(self, section_id: UUID) -> list[Lesson]:
        """Live lessons of a section in order (ix_lessons_section_position)."""
        result = await self._connection.execute(
            sa.select(lessons)
            .where(lessons.c.section_id == section_id, LIVE_LESSON)
            .order_by(lessons.c.position)
        )
        return [self._track(lesson_from_row(row)) for row in result]

    async def save(self, lesson: Lesson) -> None:
        """Every column, if nobody else wrote since we read."""
        values = lesson_row(lesson)
        del values["id"]
        await _update_versioned(self._connection, lessons, lesson, values)
        self._stale.course(lesson.course_id)

    async def save_placements(self, changed: Sequence[Lesson]) -> None:
        """Section, position and deletion of lessons changed together (one executemany; the
        course row is locked by the handler, so no other writer interleaves)."""
        if not changed:
            return
        await self._connection.execute(
            sa.update(lessons)
            .where(lessons.c.id == sa.bindparam("lesson_id"))
            .values(
                section_id=sa.bindparam("new_section_id"),
                position=sa.bindparam("new_position"),
                version=sa.bindparam("new_version"),
                updated_at=sa.bindparam("new_updated_at"),
                updated_by=sa.bindparam("new_updated_by"),
                deleted_at=sa.bindparam("new_deleted_at"),
                deleted_by=sa.bindparam("new_deleted_by"),
            ),
            [
                {
                    "lesson_id": lesson.id,
                    "new_section_id": lesson.section_id,
                    "new_position": lesson.order,
                    "new_version": lesson.version,
                    "new_updated_at": lesson.updated_at,
                    "new_updated_by": lesson.updated_by,
                    "new_deleted_at": lesson.deleted_at,
                    "new_deleted_by": lesson.deleted_by,
                }
                for lesson in changed
            ],
        )
        for lesson in changed:
            lesson.mark_stored()
            self._stale.course(lesson.course_id)


class SqlQuizQuestionRepository(QuizQuestionRepository):
    """Questions in the `quiz_questions` table (not shown on cached pages)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, *questions: QuizQuestion) -> None:
        """Insert (one statement for many)."""
        if questions:
            await self._connection.execute(
                sa.insert(quiz_questions), [question_row(q) for q in questions]
            )

    async def get(self, question_id: UUID) -> QuizQuestion | None:
        """A live question."""
        row = (
            await self._connection.execute(
                sa.select(quiz_questions).where(
                    quiz_questions.c.id == question_id, quiz_questions.c.deleted_at.is_(None)
                )
            )
        ).first()
        return question_from_row(row) if row else None

    async def of_lesson(self, lesson_id: UUID) -> list[QuizQuestion]:
        """Live questions in video order (ix_quiz_questions_lesson_timestamp)."""
        result = await self._connection.execute(
            sa.select(quiz_questions)
            .where(quiz_questions.c.lesson_id == lesson_id, quiz_questions.c.deleted_at.is_(None))
            .order_by(quiz_questions.c.timestamp_seconds, quiz_questions.c.created_at)
        )
        return [question_from_row(row) for row in result]

    async def of_course(self, course_id: UUID) -> list[QuizQuestion]:
        """Live questions of a whole course (ix_quiz_questions_course_id)."""
        result = await self._connection.execute(
            sa.select(quiz_questions).where(
                quiz_questions.c.course_id == course_id, quiz_questions.c.deleted_at.is_(None)
            )
        )
        return [question_from_row(row) for row in result]

    async def save(self, question: QuizQuestion) -> None:
        """Every column, if nobody else wrote since we read."""
        values = question_row(question)
        del values["id"]
        await _update_versioned(self._connection, quiz_questions, question, values)


class SqlQuizAttemptRepository(QuizAttemptRepository):
    """Attempts in the `quiz_attempts` table."""

    def __init__(self, connection: AsyncConnection) -> None:
        super().__init__()
        self._connection = connection

    async def add(self, attempt: QuizAttempt) -> None:
        """Insert."""
        await self._connection.execute(
            sa.insert(quiz_attempts).values(
                id=attempt.id,
                question_id=attempt.question_id,
                lesson_id=attempt.lesson_id,
                course_id=attempt.course_id,
                user_id=attempt.user_id,
                selected_option=attempt.selected_option,
                correct=attempt.correct,
                time_spent_seconds=attempt.time_spent_seconds,
                created_at=attempt.created_at,
            )
        )
        self._track(attempt)


class SqlEnrollmentRepository(EnrollmentRepository):
    """Enrolments in the `enrollments` table (the counters they drive live on the course)."""

    def __init__(self, connection: AsyncConnection) -> None:
        super().__init__()
        self._connection = connection

    async def add(self, enrollment: Enrollment) -> None:
        """Insert; a second row for the same student and course raises AlreadyEnrolled."""
        await _insert_unique(
            self._connection,
            sa.insert(enrollments).values(enrollment_row(enrollment)),
            AlreadyEnrolled(enrollment.course_id),
        )
        self._track(enrollment)

    async def get(self, enrollment_id: UUID) -> Enrollment | None:
        """By id."""
        row = (
            await self._connection.execute(
                sa.select(enrollments).where(enrollments.c.id == enrollment_id)
            )
        ).first()
        return self._track(enrollment_from_row(row)) if row else None

    async def find(self, user_id: UUID, course_id: UUID) -> Enrollment | None:
        """By student and course (uq_enrollments_user_course)."""
        row = (
            await self._connection.execute(
                sa.select(enrollments).where(
                    enrollments.c.user_id == user_id, enrollments.c.course_id == course_id
                )
            )
        ).first()
        return self._track(enrollment_from_row(row)) if row else None

    async def save(self, enrollment: Enrollment) -> None:
        """Every column, if nobody else wrote since we read."""
        values = enrollment_row(enrollment)
        del values["id"]
        await _update_versioned(self._connection, enrollments, enrollment, values)


class SqlReviewRepository(ReviewRepository):
    """Reviews in the `reviews` table."""

    def __init__(self, connection: AsyncConnection) -> None:
        super().__init__()
        self._connection = connection

    def _values(self, review: Review) -> dict[str, Any]:
        return {
            "course_id": review.course_id,
            "user_id": review.user_id,
            "rating": review.rating,
            "title": review.title,
            "comment": review.comment,
            **_audit(review),
        }

    async def add(self, review: Review) -> None:
        """Insert; a second live review of the student raises ReviewAlreadyExists."""
        await _insert_unique(
            self._connection,
            sa.insert(reviews).values(id=review.id, **self._values(review)),
            ReviewAlreadyExists(review.course_id),
        )
        self._track(review)

    async def get(self, review_id: UUID) -> Review | None:
        """A live review."""
        row = (
            await self._connection.execute(
                sa.select(reviews).where(reviews.c.id == review_id, reviews.c.deleted_at.is_(None))
            )
        ).first()
        return self._track(review_from_row(row)) if row else None

    async def save(self, review: Review) -> None:
        """Every column, if nobody else wrote since we read."""
        await _update_versioned(self._connection, reviews, review, self._values(review))


class SqlInstructorRepository(InstructorRepository):
    """The replica of user profiles."""

    def __init__(self, connection: AsyncConnection, stale: StaleViews) -> None:
        self._connection = connection
        self._stale = stale

    async def get(self, user_id: UUID) -> InstructorProfile:
        """The replicated profile, or a bare one if no user event has arrived yet."""
        row = (
            await self._connection.execute(
                sa.select(instructor_profiles).where(instructor_profiles.c.user_id == user_id)
            )
        ).first()
        if row is None:
            return InstructorProfile(id=user_id)
        return InstructorProfile(
            id=row.user_id, display_name=row.display_name, avatar_url=row.avatar_url
        )

    async def upsert(self, profile: InstructorProfile, source_version: int) -> bool:
        """One `INSERT ... ON CONFLICT DO UPDATE ... WHERE stored version is older` statement:
        race-free, and a redelivered or out-of-order event leaves the row alone."""
        dialect = postgresql if self._connection.dialect.name == "postgresql" else sqlite
        values = {
            "user_id": profile.id,
            "display_name": profile.display_name,
            "avatar_url": profile.avatar_url,
            "source_version": source_version,
            "updated_at": utc_now(),
        }
        insert = dialect.insert(instructor_profiles).values(values)
        statement = insert.on_conflict_do_update(
            index_elements=[instructor_profiles.c.user_id],
            set_={key: value for key, value in values.items() if key != "user_id"},
            where=instructor_profiles.c.source_version < insert.excluded.source_version,
        )
        result = await self._connection.execute(statement)
        changed = bool(result.rowcount)
        if changed:
            self._stale.instructor(profile.id)
        return changed
