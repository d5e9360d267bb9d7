"""What a unit of work changed that cached views show: recorded by the repositories as they
write, evicted from every cache level (and every replica) right after the commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID


@dataclass
class StaleViews:
    """Course pages, slugs, the category tree and instructor profiles touched by writes."""

    course_ids: set[UUID] = field(default_factory=set)
    new_slugs: set[str] = field(default_factory=set)
    categories: bool = False
    instructor_ids: set[UUID] = field(default_factory=set)

    def course(self, course_id: UUID) -> None:
        """The course's page (and so the lists it appears in) changed."""
        self.course_ids.add(course_id)

    def slug(self, slug: str) -> None:
        """A slug now leads to a course (it may be cached as unknown)."""
        self.new_slugs.add(slug)

    def category_tree(self) -> None:
        """A category changed (the tree and the lists showing category names)."""
        self.categories = True

    def instructor(self, user_id: UUID) -> None:
        """A replicated profile changed (the profile and the lists showing it)."""
        self.instructor_ids.add(user_id)

    @property
    def lists(self) -> bool:
        """Whether catalogue list pages may show something that changed."""
        return bool(self.course_ids or self.categories or self.instructor_ids)

    def __bool__(self) -> bool:
        return bool(self.lists or self.new_slugs)
