"""The catalogue's entities, aggregates and value types, with their rules. No I/O here."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, TypeVar, Union
from uuid import UUID, uuid4

from kernel.clock import utc_now
from kernel.domain import Aggregate
from kernel.errors import FieldViolation, ValidationFailed
from services.course.domain import events
from services.course.domain.errors import (
    CourseNotPublishable,
    InvalidStateTransition,
    VersionConflict,
)


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


class EnrollmentStatus(StrEnum):
    """pending_payment -> active -> completed; any of them -> cancelled."""

    PENDING_PAYMENT = "pending_payment"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Keep(Enum):
    """Marks a field of a change set that the caller did not ask to change."""

    KEEP = "keep"


KEEP = Keep.KEEP
T = TypeVar("T")
Change = Union[T, Keep]  # noqa: UP007 - a generic alias needs Union

_NON_SLUG = re.compile(r"[^a-z0-9]+")
_WORD_START = re.compile(r"(?<!^)(?=[A-Z])")
MAX_SLUG_LENGTH = 80
MIN_QUIZ_OPTIONS = 2
MAX_QUIZ_OPTIONS = 6
MIN_RATING, MAX_RATING = 1, 5


def slugify(text: str, fallback: str = "course") -> str:
    """Lowercase ASCII words joined by hyphens: "Intro to Ça va!" -> "intro-to-ca-va"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _NON_SLUG.sub("-", ascii_text.lower()).strip("-")
    return slug[:MAX_SLUG_LENGTH].rstrip("-") or fallback


def first_free_slug(base: str, taken: set[str]) -> str:
    """`base`, or `base-2`, `base-3`, ... whichever is not taken."""
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"


def _changes(change_set: object) -> dict[str, Any]:
    """The fields of a change set that are not KEEP."""
    return {
        item.name: getattr(change_set, item.name)
        for item in fields(change_set)  # type: ignore[arg-type]
        if getattr(change_set, item.name) is not KEEP
    }


def _require_text(name: str, value: str, violations: list[FieldViolation]) -> str:
    cleaned = value.strip()
    if not cleaned:
        violations.append(FieldViolation(name, "must not be empty"))
    return cleaned


def _normalise_tags(tags: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        cleaned = tag.strip().lower()
        if cleaned:
            seen.setdefault(cleaned, None)
    return list(seen)


# ----------------------------------------------------------------------------- shared bases


@dataclass(eq=False, kw_only=True)
class Versioned:
    """Optimistic-concurrency version and audit columns of every catalogue entity.

    `stored_version` is the version the row has in the database; the first change in a unit of
    work steps `version` once, and the repository writes `WHERE version = stored_version`.
    """

    id: UUID
    version: int = 1
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)
    created_by: UUID | None = None
    updated_by: UUID | None = None
    stored_version: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if not self.stored_version:
            self.stored_version = self.version

    @property
    def kind(self) -> str:
        """What the entity is called in messages: "quiz question"."""
        return _WORD_START.sub(" ", type(self).__name__).lower()

    def expect_version(self, expected: int | None) -> None:
        """VersionConflict unless `expected` is None or the current version."""
        if expected is not None and expected != self.version:
            raise VersionConflict(self.kind, expected, self.version)

    def touch(self, by: UUID) -> None:
        """Record a change by `by`: one version step per unit of work."""
        if self.version == self.stored_version:
            self.version += 1
        self.updated_at = utc_now()
        self.updated_by = by

    @property
    def has_changes(self) -> bool:
        """True when changed since it was read or last written."""
        return self.version != self.stored_version

    def mark_stored(self) -> None:
        """The repository wrote the current version."""
        self.stored_version = self.version


@dataclass(eq=False, kw_only=True)
class SoftDeletable(Versioned):
    """Rows that are hidden, not removed, when deleted."""

    deleted_at: datetime | None = None
    deleted_by: UUID | None = None

    @property
    def is_deleted(self) -> bool:
        """True once soft-deleted."""
        return self.deleted_at is not None

    def soft_delete(self, by: UUID) -> None:
        """Hide the row; idempotent callers check `is_deleted` first."""
        self.touch(by)
        self.deleted_at = self.updated_at
        self.deleted_by = by


# ----------------------------------------------------------------------------- categories


@dataclass(eq=False, kw_only=True)
class Category(SoftDeletable):
    """A catalogue category (a node of the tree)."""

    id: UUID
    name: str
    slug: str
    parent_id: UUID | None = None
    order: int = 0

    @classmethod
    def create(
        cls, *, name: str, slug: str, parent_id: UUID | None, order: int, by: UUID
    ) -> Category:
        """A new category; raises ValidationFailed for a blank name."""
        violations: list[FieldViolation] = []
        cleaned = _require_text("name", name, violations)
        if violations:
            raise ValidationFailed(violations)
        return cls(
            id=uuid4(),
            name=cleaned,
            slug=slug,
            parent_id=parent_id,
            order=order,
            created_by=by,
            updated_by=by,
        )

    def update(self, changes: CategoryChanges, tree: CategoryTree, by: UUID) -> None:
        """Apply the changes; a parent must exist and must not be the category's own subtree."""
        values = _changes(changes)
        violations: list[FieldViolation] = []
        if "name" in values:
            values["name"] = _require_text("name", values["name"], violations)
        parent_id = values.get("parent_id")
        if parent_id is not None and parent_id in tree.subtree_ids(self.id):
            violations.append(FieldViolation("parentId", "must not be the category or below it"))
        if violations:
            raise ValidationFailed(violations)
        for name, value in values.items():
            setattr(self, name, value)
        self.touch(by)


@dataclass(frozen=True, kw_only=True)
class CategoryChanges:
    """A partial update of a category."""

    name: Change[str] = KEEP
    slug: Change[str] = KEEP
    parent_id: Change[UUID | None] = KEEP
    order: Change[int] = KEEP


@dataclass(frozen=True)
class CategoryNode:
    """A category with its children, for the tree view."""

    category: Category
    children: list[CategoryNode]


class CategoryTree:
    """The live categories as a tree: roots and children ordered by (order, name)."""

    def __init__(self, categories: Iterable[Category]) -> None:
        self.by_id = {c.id: c for c in categories if not c.is_deleted}
        self._children: dict[UUID | None, list[Category]] = {}
        for category in self.by_id.values():
            parent = category.parent_id if category.parent_id in self.by_id else None
            self._children.setdefault(parent, []).append(category)
        for siblings in self._children.values():
            siblings.sort(key=lambda c: (c.order, c.name.lower()))

    def roots(self) -> list[CategoryNode]:
        """Top-level categories with their subtrees."""
        return [self._node(c) for c in self._children.get(None, [])]

    def _node(self, category: Category) -> CategoryNode:
        return CategoryNode(category, [self._node(c) for c in self._children.get(category.id, [])])

    def subtree_ids(self, category_id: UUID) -> set[UUID]:
        """The category and every descendant."""
        found: set[UUID] = set()
        pending = [category_id]
        while pending:
            current = pending.pop()
            if current in found:
                continue
            found.add(current)
            pending.extend(c.id for c in self._children.get(current, []))
        return found


# ----------------------------------------------------------------------------- courses


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


@dataclass(frozen=True, kw_only=True)
class CourseChanges:
    """A partial update of a course's catalogue fields."""

    title: Change[str] = KEEP
    short_description: Change[str] = KEEP
    description: Change[str] = KEEP
    thumbnail_url: Change[str] = KEEP
    preview_video_url: Change[str] = KEEP
    price: Change[Decimal] = KEEP
    discount_price: Change[Decimal | None] = KEEP
    currency: Change[str] = KEEP
    difficulty: Change[Difficulty | None] = KEEP
    language: Change[str] = KEEP
    category_id: Change[UUID | None] = KEEP
    tags: Change[tuple[str, ...]] = KEEP
    prerequisites: Change[tuple[str, ...]] = KEEP
    learning_outcomes: Change[tuple[str, ...]] = KEEP
    target_audience: Change[str] = KEEP


def _check_prices(price: Decimal, discount: Decimal | None) -> list[FieldViolation]:
    violations = []
    if price < 0:
        violations.append(FieldViolation("price", "must not be negative"))
    if discount is not None and discount > price:
        violations.append(FieldViolation("discountPrice", "must not exceed price"))
    return violations


@dataclass(eq=False, kw_only=True)
class Course(SoftDeletable, Aggregate):
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

    @property
    def is_free(self) -> bool:
        """A course with a zero price."""
        return self.price == 0

    @property
    def is_public(self) -> bool:
        """In the catalogue: published and not deleted."""
        return self.status == CourseStatus.PUBLISHED and not self.is_deleted

    def facts(self) -> events.CourseFacts:
        """Snapshot for events."""
        return events.CourseFacts(
            course_id=self.id,
            instructor_id=self.instructor_id,
            title=self.title,
            slug=self.slug,
            status=self.status.value,
            category_id=self.category_id,
            price=self.price,
            currency=self.currency,
            difficulty=self.difficulty.value if self.difficulty else None,
            language=self.language,
            tags=tuple(self.tags),
        )

    @classmethod
    def create(cls, draft: CourseDraft, *, instructor_id: UUID, slug: str) -> Course:
        """A new draft owned by `instructor_id`; raises ValidationFailed on inconsistent prices."""
        violations = _check_prices(draft.price, draft.discount_price)
        title = _require_text("title", draft.title, violations)
        if violations:
            raise ValidationFailed(violations)
        course = cls(
            id=uuid4(),
            slug=slug,
            title=title,
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
            created_by=instructor_id,
            updated_by=instructor_id,
        )
        course.record(events.CourseCreated(course=course.facts()))
        return course

    def visible_to(self, user_id: UUID | None, *, is_admin: bool) -> bool:
        """Deleted courses only for admins; unpublished states for the owner and admins."""
        if is_admin:
            return True
        if self.is_deleted:
            return False
        return self.status == CourseStatus.PUBLISHED or self.instructor_id == user_id

    def update(self, changes: CourseChanges, by: UUID) -> list[str]:
        """Apply the changes; returns the names of the fields that really changed."""
        values = _changes(changes)
        violations: list[FieldViolation] = []
        if "title" in values:
            values["title"] = _require_text("title", values["title"], violations)
        if "tags" in values:
            values["tags"] = _normalise_tags(values["tags"])
        for name in ("prerequisites", "learning_outcomes"):
            if name in values:
                values[name] = list(values[name])
        if "currency" in values:
            values["currency"] = values["currency"] or "USD"
        violations.extend(
            _check_prices(
                values.get("price", self.price), values.get("discount_price", self.discount_price)
            )
        )
        if violations:
            raise ValidationFailed(violations)
        changed = [name for name, value in values.items() if getattr(self, name) != value]
        if not changed:
            return []
        for name in changed:
            setattr(self, name, values[name])
        self.touch(by)
        self.record(events.CourseUpdated(course=self.facts(), changed_fields=tuple(changed)))
        return changed

    def publish(self, by: UUID, outline: Sequence[SectionOutline]) -> None:
        """Enter the catalogue; needs a title, a description and a section with a lesson."""
        if self.status not in {CourseStatus.DRAFT, CourseStatus.UNPUBLISHED}:
            raise InvalidStateTransition(f"A {self.status.value} course cannot be published")
        missing = []
        if not self.title.strip():
            missing.append(FieldViolation("title", "is required"))
        if not self.description.strip():
            missing.append(FieldViolation("description", "is required"))
        if not any(section.lessons for section in outline):
            missing.append(
                FieldViolation("sections", "needs at least one section with at least one lesson")
            )
        if missing:
            raise CourseNotPublishable(missing)
        self.touch(by)
        self.status = CourseStatus.PUBLISHED
        self.published_at = self.published_at or self.updated_at
        lessons = tuple(
            events.LessonFacts(
                lesson_id=lesson.id,
                section_id=section.id,
                order=lesson.order,
                duration_seconds=lesson.duration_seconds,
                is_preview=lesson.is_preview,
            )
            for section in outline
            for lesson in section.lessons
        )
        self.record(
            events.CoursePublished(
                course=self.facts(),
                published_at=self.published_at,
                lessons=lessons,
                totals=events.OutlineTotals(
                    lesson_count=len(lessons),
                    duration_seconds=sum(lesson.duration_seconds for lesson in lessons),
                ),
            )
        )

    def unpublish(self, by: UUID) -> None:
        """Leave the catalogue (published -> unpublished)."""
        if self.status != CourseStatus.PUBLISHED:
            raise InvalidStateTransition(f"A {self.status.value} course cannot be unpublished")
        self.touch(by)
        self.status = CourseStatus.UNPUBLISHED
        self.record(events.CourseUnpublished(course_id=self.id, instructor_id=self.instructor_id))

    def archive(self, by: UUID) -> None:
        """Retire the course for good (from published or unpublished)."""
        if self.status not in {CourseStatus.PUBLISHED, CourseStatus.UNPUBLISHED}:
            raise InvalidStateTransition(f"A {self.status.value} course cannot be archived")
        self.touch(by)
        self.status = CourseStatus.ARCHIVED
        self.record(events.CourseArchived(course_id=self.id, instructor_id=self.instructor_id))

    def delete(self, by: UUID) -> None:
        """Soft delete: hidden everywhere, enrolments kept."""
        if self.is_deleted:
            raise InvalidStateTransition("The course is already deleted")
        self.soft_delete(by)
        self.record(
            events.CourseDeleted(course_id=self.id, instructor_id=self.instructor_id, deleted_by=by)
        )

    def restore(self, by: UUID) -> None:
        """Undo the soft delete."""
        if not self.is_deleted:
            raise InvalidStateTransition("Only a deleted course can be restored")
        self.touch(by)
        self.deleted_at = None
        self.deleted_by = None
        self.record(
            events.CourseRestored(
                course_id=self.id, instructor_id=self.instructor_id, status=self.status.value
            )
        )

    def duplicate(self, *, slug: str, title: str, by: UUID) -> Course:
        """A draft copy of the catalogue fields with fresh counters (outline copied apart)."""
        copy = Course(
            id=uuid4(),
            slug=slug,
            title=title,
            instructor_id=self.instructor_id,
            short_description=self.short_description,
            description=self.description,
            thumbnail_url=self.thumbnail_url,
            preview_video_url=self.preview_video_url,
            price=self.price,
            discount_price=self.discount_price,
            currency=self.currency,
            difficulty=self.difficulty,
            language=self.language,
            category_id=self.category_id,
            tags=list(self.tags),
            prerequisites=list(self.prerequisites),
            learning_outcomes=list(self.learning_outcomes),
            target_audience=self.target_audience,
            created_by=by,
            updated_by=by,
        )
        copy.record(events.CourseCreated(course=copy.facts(), duplicated_from=self.id))
        return copy


# ----------------------------------------------------------------------------- outline


@dataclass(eq=False, kw_only=True)
class Section(SoftDeletable):
    """A titled group of lessons in a course, at a 1-based position."""

    id: UUID
    course_id: UUID
    title: str
    order: int

    @classmethod
    def create(cls, *, course_id: UUID, title: str, order: int, by: UUID) -> Section:
        """A new section at `order`; raises ValidationFailed for a blank title."""
        violations: list[FieldViolation] = []
        cleaned = _require_text("title", title, violations)
        if violations:
            raise ValidationFailed(violations)
        return cls(
            id=uuid4(),
            course_id=course_id,
            title=cleaned,
            order=order,
            created_by=by,
            updated_by=by,
        )

    def rename(self, title: str, by: UUID) -> None:
        """Change the title."""
        violations: list[FieldViolation] = []
        cleaned = _require_text("title", title, violations)
        if violations:
            raise ValidationFailed(violations)
        if cleaned != self.title:
            self.title = cleaned
            self.touch(by)


@dataclass(frozen=True)
class LessonResource:
    """A link shown with a lesson."""

    title: str
    url: str


def _check_resources(resources: Sequence[LessonResource]) -> list[FieldViolation]:
    violations = []
    for index, resource in enumerate(resources):
        if not resource.title.strip():
            violations.append(FieldViolation(f"resources[{index}].title", "must not be empty"))
        if not resource.url.startswith(("https://", "http://")):
            violations.append(FieldViolation(f"resources[{index}].url", "must be an http(s) URL"))
    return violations


@dataclass(frozen=True, kw_only=True)
class LessonDraft:
    """The author's input for a new lesson."""

    title: str
    description: str = ""
    video_url: str = ""
    video_provider: str = ""
    thumbnail_url: str = ""
    duration_seconds: int = 0
    is_preview: bool = False
    transcript_url: str = ""
    resources: tuple[LessonResource, ...] = ()


@dataclass(frozen=True, kw_only=True)
class LessonChanges:
    """A partial update of a lesson."""

    title: Change[str] = KEEP
    description: Change[str] = KEEP
    video_url: Change[str] = KEEP
    video_provider: Change[str] = KEEP
    thumbnail_url: Change[str] = KEEP
    duration_seconds: Change[int] = KEEP
    is_preview: Change[bool] = KEEP
    transcript_url: Change[str] = KEEP
    resources: Change[tuple[LessonResource, ...]] = KEEP


@dataclass(eq=False, kw_only=True)
class Lesson(SoftDeletable, Aggregate):
    """A video lesson at a 1-based position in its section."""

    aggregate_type = "lesson"

    id: UUID
    course_id: UUID
    section_id: UUID
    title: str
    order: int
    description: str = ""
    video_url: str = ""
    video_provider: str = ""
    thumbnail_url: str = ""
    duration_seconds: int = 0
    is_preview: bool = False
    transcript_url: str = ""
    resources: list[LessonResource] = field(default_factory=list)

    def facts(self) -> events.LessonFacts:
        """Snapshot for events."""
        return events.LessonFacts(
            lesson_id=self.id,
            section_id=self.section_id,
            order=self.order,
            duration_seconds=self.duration_seconds,
            is_preview=self.is_preview,
        )

    @classmethod
    def create(cls, section: Section, draft: LessonDraft, *, order: int, by: UUID) -> Lesson:
        """A new lesson at the end of `section`; announce it once the course totals are known."""
        violations = _check_resources(draft.resources)
        title = _require_text("title", draft.title, violations)
        if violations:
            raise ValidationFailed(violations)
        return cls(
            id=uuid4(),
            course_id=section.course_id,
            section_id=section.id,
            title=title,
            order=order,
            description=draft.description,
            video_url=draft.video_url,
            video_provider=draft.video_provider,
            thumbnail_url=draft.thumbnail_url,
            duration_seconds=draft.duration_seconds,
            is_preview=draft.is_preview,
            transcript_url=draft.transcript_url,
            resources=list(draft.resources),
            created_by=by,
            updated_by=by,
        )

    def announce_created(self, totals: events.OutlineTotals) -> None:
        """Record lesson.created with the course totals after the insert."""
        self.record(
            events.LessonCreated(
                course_id=self.course_id, title=self.title, lesson=self.facts(), totals=totals
            )
        )

    def update(self, changes: LessonChanges, by: UUID) -> list[str]:
        """Apply the changes; returns the names of the fields that really changed."""
        values = _changes(changes)
        violations: list[FieldViolation] = []
        if "title" in values:
            values["title"] = _require_text("title", values["title"], violations)
        if "resources" in values:
            violations.extend(_check_resources(values["resources"]))
            values["resources"] = list(values["resources"])
        if violations:
            raise ValidationFailed(violations)
        changed = [name for name, value in values.items() if getattr(self, name) != value]
        for name in changed:
            setattr(self, name, values[name])
        if changed:
            self.touch(by)
        return changed

    def place(self, section_id: UUID, order: int, by: UUID) -> bool:
        """Put the lesson at `order` in `section_id`; True when that moved it."""
        if (self.section_id, self.order) == (section_id, order):
            return False
        self.section_id = section_id
        self.order = order
        self.touch(by)
        return True

    def announce_updated(self, changed: Sequence[str], totals: events.OutlineTotals) -> None:
        """Record lesson.updated with the course totals after the change."""
        self.record(
            events.LessonUpdated(
                course_id=self.course_id,
                title=self.title,
                lesson=self.facts(),
                changed_fields=tuple(changed),
                totals=totals,
            )
        )

    def announce_deleted(self, totals: events.OutlineTotals) -> None:
        """Record lesson.deleted with the course totals after the delete."""
        self.record(
            events.LessonDeleted(course_id=self.course_id, lesson=self.facts(), totals=totals)
        )

    def copy_to(self, course_id: UUID, section_id: UUID, by: UUID) -> Lesson:
        """A copy in another course's section (for `:duplicate`)."""
        return Lesson(
            id=uuid4(),
            course_id=course_id,
            section_id=section_id,
            title=self.title,
            order=self.order,
            description=self.description,
            video_url=self.video_url,
            video_provider=self.video_provider,
            thumbnail_url=self.thumbnail_url,
            duration_seconds=self.duration_seconds,
            is_preview=self.is_preview,
            transcript_url=self.transcript_url,
            resources=list(self.resources),
            created_by=by,
            updated_by=by,
        )


def check_exact_order(name: str, requested: Sequence[UUID], existing: Iterable[UUID]) -> None:
    """A reorder must name every existing child exactly once, and nothing else."""
    expected = set(existing)
    if len(requested) != len(set(requested)) or set(requested) != expected:
        raise ValidationFailed(
            [FieldViolation(name, f"must list each of the {len(expected)} existing ids once")]
        )


def renumber(items: Sequence[T]) -> list[tuple[T, int]]:
    """1-based positions for items in the given order."""
    return [(item, position) for position, item in enumerate(items, start=1)]


# ----------------------------------------------------------------------------- quizzes


def _check_question(
    options: Sequence[str], correct_option: int, violations: list[FieldViolation]
) -> list[str]:
    cleaned = [option.strip() for option in options]
    if not MIN_QUIZ_OPTIONS <= len(cleaned) <= MAX_QUIZ_OPTIONS:
        violations.append(
            FieldViolation("options", f"must have {MIN_QUIZ_OPTIONS} to {MAX_QUIZ_OPTIONS} options")
        )
    violations.extend(
        FieldViolation(f"options[{index}]", "must not be empty")
        for index, option in enumerate(cleaned)
        if not option
    )
    if not 0 <= correct_option < max(len(cleaned), 1):
        violations.append(FieldViolation("correctOption", "must be the index of an option"))
    return cleaned


@dataclass(frozen=True, kw_only=True)
class QuizQuestionChanges:
    """A partial update of a quiz question."""

    prompt: Change[str] = KEEP
    options: Change[tuple[str, ...]] = KEEP
    correct_option: Change[int] = KEEP
    explanation: Change[str] = KEEP
    timestamp_seconds: Change[int] = KEEP


@dataclass(eq=False, kw_only=True)
class QuizQuestion(SoftDeletable):
    """A multiple-choice question shown at a video timestamp of a lesson."""

    id: UUID
    lesson_id: UUID
    course_id: UUID
    prompt: str
    options: list[str]
    correct_option: int
    explanation: str = ""
    timestamp_seconds: int = 0

    @classmethod
    def create(
        cls,
        lesson: Lesson,
        *,
        prompt: str,
        options: Sequence[str],
        correct_option: int,
        explanation: str,
        timestamp_seconds: int,
        by: UUID,
    ) -> QuizQuestion:
        """A new question; 2-6 non-empty options and a valid correct option."""
        violations: list[FieldViolation] = []
        cleaned_prompt = _require_text("prompt", prompt, violations)
        cleaned = _check_question(options, correct_option, violations)
        if violations:
            raise ValidationFailed(violations)
        return cls(
            id=uuid4(),
            lesson_id=lesson.id,
            course_id=lesson.course_id,
            prompt=cleaned_prompt,
            options=cleaned,
            correct_option=correct_option,
            explanation=explanation,
            timestamp_seconds=timestamp_seconds,
            created_by=by,
            updated_by=by,
        )

    def update(self, changes: QuizQuestionChanges, by: UUID) -> None:
        """Apply the changes, checking options and correct option together."""
        values = _changes(changes)
        violations: list[FieldViolation] = []
        if "prompt" in values:
            values["prompt"] = _require_text("prompt", values["prompt"], violations)
        values["options"] = _check_question(
            values.get("options", self.options),
            values.get("correct_option", self.correct_option),
            violations,
        )
        if violations:
            raise ValidationFailed(violations)
        changed = [name for name, value in values.items() if getattr(self, name) != value]
        for name in changed:
            setattr(self, name, values[name])
        if changed:
            self.touch(by)

    def answer(
        self, *, user_id: UUID, selected_option: int, time_spent_seconds: int
    ) -> QuizAttempt:
        """Grade an answer; the attempt records quiz.attempted."""
        if not 0 <= selected_option < len(self.options):
            raise ValidationFailed(
                [FieldViolation("selectedOption", "must be the index of an option")]
            )
        attempt = QuizAttempt(
            id=uuid4(),
            question_id=self.id,
            lesson_id=self.lesson_id,
            course_id=self.course_id,
            user_id=user_id,
            selected_option=selected_option,
            correct=selected_option == self.correct_option,
            time_spent_seconds=time_spent_seconds,
        )
        attempt.record(
            events.QuizAttempted(
                attempt_id=attempt.id,
                question_id=self.id,
                lesson_id=self.lesson_id,
                course_id=self.course_id,
                user_id=user_id,
                selected_option=selected_option,
                correct_option=self.correct_option,
                correct=attempt.correct,
                time_spent_seconds=time_spent_seconds,
                timestamp_seconds=self.timestamp_seconds,
            )
        )
        return attempt

    def copy_to(self, lesson: Lesson, by: UUID) -> QuizQuestion:
        """A copy on another lesson (for `:duplicate`)."""
        return QuizQuestion(
            id=uuid4(),
            lesson_id=lesson.id,
            course_id=lesson.course_id,
            prompt=self.prompt,
            options=list(self.options),
            correct_option=self.correct_option,
            explanation=self.explanation,
            timestamp_seconds=self.timestamp_seconds,
            created_by=by,
            updated_by=by,
        )


@dataclass(eq=False, kw_only=True)
class QuizAttempt(Aggregate):
    """One graded answer of a student (immutable once made)."""

    aggregate_type = "quiz_attempt"

    id: UUID
    question_id: UUID
    lesson_id: UUID
    course_id: UUID
    user_id: UUID
    selected_option: int
    correct: bool
    time_spent_seconds: int
    created_at: datetime = field(default_factory=utc_now)
    version: int = 1


# ----------------------------------------------------------------------------- enrolments


@dataclass(eq=False, kw_only=True)
class Enrollment(Versioned, Aggregate):
    """A student's enrolment in a course (one per student and course, reused on re-enrolment)."""

    aggregate_type = "enrollment"

    id: UUID
    course_id: UUID
    user_id: UUID
    status: EnrollmentStatus
    enrolled_at: datetime = field(default_factory=utc_now)
    progress_percent: float = 0.0
    progress_version: int = 0
    activated_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    last_accessed_at: datetime | None = None

    @property
    def has_access(self) -> bool:
        """Active and completed enrolments open the lessons and quizzes."""
        return self.status in {EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED}

    @property
    def counts_as_enrolled(self) -> bool:
        """Counted in the course's enrollmentCount (paid or free, not pending, not cancelled)."""
        return self.has_access

    @classmethod
    def start(cls, course: Course, user_id: UUID) -> Enrollment:
        """Enrol: free courses start active, paid ones wait for payment."""
        enrollment = cls(
            id=uuid4(),
            course_id=course.id,
            user_id=user_id,
            status=EnrollmentStatus.PENDING_PAYMENT,
            created_by=user_id,
            updated_by=user_id,
        )
        enrollment._open(course, user_id)
        return enrollment

    def restart(self, course: Course, user_id: UUID) -> None:
        """Enrol again after a cancellation, with fresh progress."""
        self.touch(user_id)
        self.progress_percent = 0.0
        self.completed_at = None
        self.cancelled_at = None
        self.activated_at = None
        self._open(course, user_id)

    def _open(self, course: Course, user_id: UUID) -> None:
        self.enrolled_at = self.updated_at
        if course.is_free:
            self.status = EnrollmentStatus.ACTIVE
            self.activated_at = self.enrolled_at
        else:
            self.status = EnrollmentStatus.PENDING_PAYMENT
        self.record(
            events.EnrollmentCreated(
                enrollment_id=self.id,
                user_id=user_id,
                course_id=course.id,
                instructor_id=course.instructor_id,
                status=self.status.value,
                price=course.discount_price if course.discount_price is not None else course.price,
                currency=course.currency,
                course_lesson_count=course.lesson_count,
            )
        )

    def activate(self, by: UUID) -> None:
        """Payment received: pending_payment -> active."""
        if self.status != EnrollmentStatus.PENDING_PAYMENT:
            raise InvalidStateTransition(f"A {self.status.value} enrolment cannot be activated")
        self.touch(by)
        self.status = EnrollmentStatus.ACTIVE
        self.activated_at = self.updated_at
        self.record(
            events.EnrollmentActivated(
                enrollment_id=self.id,
                user_id=self.user_id,
                course_id=self.course_id,
                activated_by=by,
            )
        )

    def cancel(self, by: UUID) -> EnrollmentStatus:
        """Unenrol; returns the status it had."""
        previous = self.status
        if previous == EnrollmentStatus.CANCELLED:
            raise InvalidStateTransition("The enrolment is already cancelled")
        self.touch(by)
        self.status = EnrollmentStatus.CANCELLED
        self.cancelled_at = self.updated_at
        self.record(
            events.EnrollmentCancelled(
                enrollment_id=self.id,
                user_id=self.user_id,
                course_id=self.course_id,
                previous_status=previous.value,
            )
        )
        return previous

    def record_progress(
        self, *, percent: float, source_version: int, at: datetime, completed: bool
    ) -> bool:
        """Apply progress reported by analytics; True when this completed the course.

        Reports older than the last one applied (by the analytics aggregate version) are ignored,
        so redelivered or reordered events change nothing.
        """
        if source_version and source_version <= self.progress_version:
            return False
        if self.status == EnrollmentStatus.CANCELLED:
            return False
        self.touch(self.user_id)
        self.progress_version = max(self.progress_version, source_version)
        self.progress_percent = max(0.0, min(100.0, percent))
        self.last_accessed_at = max(self.last_accessed_at or at, at)
        if completed and self.status == EnrollmentStatus.ACTIVE:
            self.status = EnrollmentStatus.COMPLETED
            self.completed_at = at
            self.progress_percent = 100.0
            return True
        return False


# ----------------------------------------------------------------------------- reviews


def _check_rating(rating: int) -> None:
    if not MIN_RATING <= rating <= MAX_RATING:
        raise ValidationFailed([FieldViolation("rating", "must be from 1 to 5")])


@dataclass(eq=False, kw_only=True)
class Review(SoftDeletable, Aggregate):
    """A student's rating (1-5) and comment on a course."""

    aggregate_type = "review"

    id: UUID
    course_id: UUID
    user_id: UUID
    rating: int
    title: str = ""
    comment: str = ""

    @classmethod
    def write(
        cls, *, course_id: UUID, user_id: UUID, rating: int, title: str, comment: str
    ) -> Review:
        """A new review; announce it once the course aggregates are updated."""
        _check_rating(rating)
        return cls(
            id=uuid4(),
            course_id=course_id,
            user_id=user_id,
            rating=rating,
            title=title.strip(),
            comment=comment.strip(),
            created_by=user_id,
            updated_by=user_id,
        )

    def announce_submitted(self, totals: events.RatingTotals) -> None:
        """Record review.submitted with the course aggregates after the insert."""
        self.record(
            events.ReviewSubmitted(
                review_id=self.id,
                course_id=self.course_id,
                user_id=self.user_id,
                rating=self.rating,
                totals=totals,
            )
        )

    def edit(
        self, *, rating: Change[int], title: Change[str], comment: Change[str], by: UUID
    ) -> int:
        """Apply the changes; returns the previous rating."""
        previous = self.rating
        if rating is not KEEP:
            _check_rating(rating)
            self.rating = rating
        if title is not KEEP:
            self.title = title.strip()
        if comment is not KEEP:
            self.comment = comment.strip()
        self.touch(by)
        return previous

    def announce_updated(self, previous_rating: int, totals: events.RatingTotals) -> None:
        """Record review.updated with the course aggregates after the change."""
        self.record(
            events.ReviewUpdated(
                review_id=self.id,
                course_id=self.course_id,
                user_id=self.user_id,
                rating=self.rating,
                previous_rating=previous_rating,
                totals=totals,
            )
        )

    def announce_deleted(self, by: UUID, totals: events.RatingTotals) -> None:
        """Record review.deleted with the course aggregates after the delete."""
        self.record(
            events.ReviewDeleted(
                review_id=self.id,
                course_id=self.course_id,
                user_id=self.user_id,
                rating=self.rating,
                deleted_by=by,
                totals=totals,
            )
        )


# ----------------------------------------------------------------------------- read models


@dataclass(frozen=True)
class InstructorProfile:
    """The instructor as replicated from the user service."""

    id: UUID
    display_name: str = ""
    avatar_url: str = ""


@dataclass(frozen=True)
class CategoryRef:
    """The category as shown next to a course."""

    id: UUID
    name: str
    slug: str


@dataclass(frozen=True)
class LessonOutline:
    """A lesson as listed in a course outline (no video)."""

    id: UUID
    title: str
    order: int
    duration_seconds: int
    is_preview: bool


@dataclass(frozen=True)
class SectionOutline:
    """A section with its lessons in order."""

    id: UUID
    title: str
    order: int
    lessons: list[LessonOutline]


@dataclass(frozen=True)
class SectionView:
    """A section resource with its lessons (sections routes)."""

    section: Section
    lessons: list[LessonOutline]


@dataclass(frozen=True)
class CourseDetails:
    """A course with its outline; instructor and category are attached by the reader."""

    course: Course
    sections: list[SectionOutline]


@dataclass(frozen=True)
class ViewerState:
    """What the signed-in caller has to do with a course."""

    enrollment: Enrollment | None

    @property
    def is_enrolled(self) -> bool:
        """An enrolment that opens the lessons."""
        return self.enrollment is not None and self.enrollment.has_access


@dataclass(frozen=True, kw_only=True)
class CourseCard:
    """A course as one item of a list (catalogue, teaching, my enrolments)."""

    id: UUID
    slug: str
    title: str
    short_description: str
    thumbnail_url: str
    instructor: InstructorProfile
    price: Decimal
    discount_price: Decimal | None
    currency: str
    difficulty: Difficulty | None
    language: str
    category: CategoryRef | None
    tags: list[str]
    status: CourseStatus
    duration_seconds: int
    lesson_count: int
    enrollment_count: int
    completion_count: int
    rating_average: float
    rating_count: int
    published_at: datetime | None
    updated_at: datetime
    version: int

    @property
    def is_free(self) -> bool:
        """A zero price."""
        return self.price == 0

    @property
    def completion_rate(self) -> float:
        """Share of enrolled students who completed, 0..100."""
        if not self.enrollment_count:
            return 0.0
        return round(min(100.0, 100.0 * self.completion_count / self.enrollment_count), 2)


@dataclass(frozen=True)
class EnrollmentView:
    """An enrolment with the course it is for."""

    enrollment: Enrollment
    course: CourseCard


@dataclass(frozen=True)
class LessonView:
    """A lesson with its quiz questions."""

    lesson: Lesson
    questions: list[QuizQuestion]
