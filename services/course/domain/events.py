"""Domain events raised by the catalogue's aggregates."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from kernel.domain import DomainEvent


@dataclass(frozen=True, kw_only=True)
class CourseCreated(DomainEvent):
    """A draft course was created."""

    course_id: UUID
    instructor_id: UUID
    title: str
    slug: str
    status: str
    category_id: UUID | None
