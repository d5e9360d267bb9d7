"""What can go wrong in the catalogue, named for the product."""

from __future__ import annotations

from kernel.errors import AlreadyExists, NotFound, PreconditionFailed


class CourseNotFound(NotFound):
    """No visible course has this id or slug."""

    reason = "COURSE_NOT_FOUND"

    def __init__(self, key: object) -> None:
        super().__init__(f"Course {key} not found")


class CategoryNotFound(NotFound):
    """The category does not exist."""

    reason = "CATEGORY_NOT_FOUND"

    def __init__(self, key: object) -> None:
        super().__init__(f"Category {key} not found")


class SlugTaken(AlreadyExists):
    """Another course already uses the slug."""

    reason = "SLUG_TAKEN"


class InvalidStateTransition(PreconditionFailed):
    """The course's lifecycle does not allow this step."""

    reason = "INVALID_STATE_TRANSITION"
