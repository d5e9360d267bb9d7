"""The course aggregate and its value types. No I/O here."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID, uuid4

from kernel.clock import utc_now
from kernel.domain import Aggregate
from kernel.errors import FieldViolation, ValidationFailed
from services.course.domain.events import CourseCreated


class CourseStatus(StrEnum):
    """Lifecycle: draft -> published <-> unpublished -> archived."""

    DRAFT = "draft"
    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"
    ARCHIVED = "archived"


class Difficulty(StrEnum):
    """How demanding a course is."""

    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"
    ALL = "all"


_NON_SLUG = re.compile(r"[^a-z0-9]+")
MAX_SLUG_LENGTH = 80


def slugify(text: str) -> str:
    """Lowercase ASCII words joined by hyphens: "Intro to Ça va!" -> "intro-to-ca-va"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _NON_SLUG.sub("-", ascii_text.lower()).strip("-")
    return slug[:MAX_SLUG_LENGTH].rstrip("-") or "course"


def first_free_slug(base: str, taken: set[str]) -> str:
    """`base`, or `base-2`, `base-3`, ... whichever is not taken."""
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"


@dataclass(frozen=True)
class Money:
    """A price: non-negative decimal with at most two places, in an ISO 4217 currency."""

    amount: Decimal
    currency: str

    @property
    def is_zero(self) -> bool:
        """True for a free course."""
        return self.amount == 0


@dataclass(frozen=True, kw_only=True)
class CourseDraft:
    """The author's input for a new course."""

    title: str
    short_description: str = ""
    description: str = ""
    thumbnail_url: str = ""
    preview_video_url: str = ""
    price: Decimal = Decimal(0)
    discount_price: Decimal | None = None
    currency: str = "USD"
    difficulty: Difficulty | None = None
    language: str = "en"
    category_id: UUID | None = None
    tags: tuple[str, ...] = ()
    prerequisites: tuple[str, ...] = ()
    learning_outcomes: tuple[str, ...] = ()
    target_audience: str = ""


def _normalise_tags(tags: tuple[str, ...]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        cleaned = tag.strip().lower()
        if cleaned:
            seen.setdefault(cleaned, None)
    return list(seen)


@dataclass(eq=False, kw_only=True)
class Course(Aggregate):
    """A course and its catalogue facts; the outline (sections, lessons) hangs off it."""

    aggregate_type = "course"

    id: UUID
    slug: str
    title: str
    instructor_id: UUID
    short_description: str = ""
    description: str = ""
    thumbnail_url: str = ""
    preview_video_url: str = ""
    price: Decimal = Decimal(0)
    discount_price: Decimal | None = None
    currency: str = "USD"
    difficulty: Difficulty | None = None
    language: str = "en"
    category_id: UUID | None = None
    tags: list[str] = field(default_factory=list)
    prerequisites: list[str] = field(default_factory=list)
    learning_outcomes: list[str] = field(default_factory=list)
    target_audience: str = ""
    status: CourseStatus = CourseStatus.DRAFT
    duration_seconds: int = 0
    lesson_count: int = 0
    enrollment_count: int = 0
    completion_count: int = 0
    rating_average: float = 0.0
    rating_count: int = 0
    published_at: datetime | None = None
    version: int = 1
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)
    created_by: UUID | None = None
    updated_by: UUID | None = None
    deleted_at: datetime | None = None
    deleted_by: UUID | None = None

    @property
    def is_free(self) -> bool:
        """A course with a zero price."""
        return self.price == 0

    @classmethod
    def create(cls, draft: CourseDraft, *, instructor_id: UUID, slug: str) -> Course:
        """A new draft owned by `instructor_id`; raises ValidationFailed on inconsistent prices."""
        violations = []
        if draft.price < 0:
            violations.append(FieldViolation("price", "must not be negative"))
        if draft.discount_price is not None and draft.discount_price > draft.price:
            violations.append(FieldViolation("discountPrice", "must not exceed price"))
        if violations:
            raise ValidationFailed(violations)
        now = utc_now()
        course = cls(
            id=uuid4(),
            slug=slug,
            title=draft.title.strip(),
            instructor_id=instructor_id,
            short_description=draft.short_description,
            description=draft.description,
            thumbnail_url=draft.thumbnail_url,
            preview_video_url=draft.preview_video_url,
            price=draft.price,
            discount_price=draft.discount_price,
            currency=draft.currency or "USD",
            difficulty=draft.difficulty,
            language=draft.language or "en",
            category_id=draft.category_id,
            tags=_normalise_tags(draft.tags),
            prerequisites=list(draft.prerequisites),
            learning_outcomes=list(draft.learning_outcomes),
            target_audience=draft.target_audience,
            created_at=now,
            updated_at=now,
            created_by=instructor_id,
            updated_by=instructor_id,
        )
        course.record(
            CourseCreated(
                course_id=course.id,
                instructor_id=instructor_id,
                title=course.title,
                slug=course.slug,
                status=course.status.value,
                category_id=course.category_id,
            )
        )
        return course

    def visible_to(self, user_id: UUID | None, *, is_admin: bool) -> bool:
        """Deleted courses are hidden; drafts and non-public states only to the owner or admins."""
        if is_admin:
            return True
        if self.deleted_at is not None:
            return False
        return self.status == CourseStatus.PUBLISHED or self.instructor_id == user_id


@dataclass(frozen=True)
class InstructorProfile:
    """The instructor as replicated from the user service."""

    id: UUID
    display_name: str = ""
    avatar_url: str = ""


@dataclass(frozen=True)
class Category:
    """A catalogue category (tree node)."""

    id: UUID
    name: str
    slug: str
    parent_id: UUID | None = None
    order: int = 0


@dataclass(frozen=True)
class CourseDetails:
    """A course with what its page shows next to it."""

    course: Course
    instructor: InstructorProfile
    category: Category | None
