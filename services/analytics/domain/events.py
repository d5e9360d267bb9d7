"""Domain events raised by a student's course progress (mapped to protobuf in mappers.py)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from kernel.domain import DomainEvent


@dataclass(frozen=True, kw_only=True)
class LessonCompleted(DomainEvent):
    """A lesson reached 90 % watched or was marked complete."""

    user_id: UUID
    lesson_id: UUID
    course_id: UUID


@dataclass(frozen=True, kw_only=True)
class CourseProgressUpdated(DomainEvent):
    """Completed lessons or the course's lesson count changed."""

    user_id: UUID
    course_id: UUID
    progress_percent: float
    completed_lessons: int
    total_lessons: int


@dataclass(frozen=True, kw_only=True)
class CourseCompleted(DomainEvent):
    """Every lesson of the course is complete."""

    user_id: UUID
    course_id: UUID
