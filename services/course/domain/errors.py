"""What can go wrong in the catalogue, named for the product."""

from __future__ import annotations

from collections.abc import Iterable

from kernel.errors import (
    AlreadyExists,
    Conflict,
    FieldViolation,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)


class CourseNotFound(NotFound):
    """No course visible to the caller has this id or slug."""

    reason = "COURSE_NOT_FOUND"

    def __init__(self, key: object) -> None:
        super().__init__(f"Course {key} not found")


class CategoryNotFound(NotFound):
    """The category does not exist."""

    reason = "CATEGORY_NOT_FOUND"

    def __init__(self, key: object) -> None:
        super().__init__(f"Category {key} not found")


class SectionNotFound(NotFound):
    """The section does not exist in a course visible to the caller."""

    reason = "SECTION_NOT_FOUND"

    def __init__(self, key: object) -> None:
        super().__init__(f"Section {key} not found")


class LessonNotFound(NotFound):
    """The lesson does not exist in a course visible to the caller."""

    reason = "LESSON_NOT_FOUND"

    def __init__(self, key: object) -> None:
        super().__init__(f"Lesson {key} not found")


class QuizQuestionNotFound(NotFound):
    """The quiz question does not exist."""

    reason = "QUIZ_QUESTION_NOT_FOUND"

    def __init__(self, key: object) -> None:
        super().__init__(f"Quiz question {key} not found")


class EnrollmentNotFound(NotFound):
    """No such enrolment (or no live enrolment of the caller in the course)."""

    reason = "ENROLLMENT_NOT_FOUND"

    def __init__(self, key: object) -> None:
        super().__init__(f"Enrollment {key} not found")


class ReviewNotFound(NotFound):
    """The review does not exist."""

    reason = "REVIEW_NOT_FOUND"

    def __init__(self, key: object) -> None:
        super().__init__(f"Review {key} not found")


class SlugTaken(AlreadyExists):
    """Another course or category already uses the slug."""

    reason = "SLUG_TAKEN"


class AlreadyEnrolled(AlreadyExists):
    """The caller already holds a live enrolment in the course."""

    reason = "ALREADY_ENROLLED"

    def __init__(self, course_id: object) -> None:
        super().__init__(f"Already enrolled in course {course_id}")


class ReviewAlreadyExists(AlreadyExists):
    """The student has already reviewed the course."""

    reason = "REVIEW_ALREADY_EXISTS"

    def __init__(self, course_id: object) -> None:
        super().__init__(f"You have already reviewed course {course_id}; edit that review")


class NotEnrolled(PermissionDenied):
    """The caller needs an active or completed enrolment for this."""

    reason = "NOT_ENROLLED"

    def __init__(self, course_id: object) -> None:
        super().__init__(f"Enrol in course {course_id} to do this")


class InvalidStateTransition(PreconditionFailed):
    """The lifecycle does not allow this step from the current status."""

    reason = "INVALID_STATE_TRANSITION"


class CourseNotPublishable(PreconditionFailed):
    """Publishing needs a title, a description and a section with a lesson."""

    reason = "COURSE_NOT_PUBLISHABLE"

    def __init__(self, missing: Iterable[FieldViolation]) -> None:
        items = tuple(missing)
        summary = "; ".join(f"{v.field}: {v.description}" for v in items)
        super().__init__(f"The course cannot be published yet: {summary}", violations=items)


class CategoryNotEmpty(PreconditionFailed):
    """A category with subcategories or courses cannot be deleted."""

    reason = "CATEGORY_NOT_EMPTY"

    def __init__(self, category_id: object) -> None:
        super().__init__(f"Category {category_id} still has subcategories or courses")


class VersionConflict(Conflict):
    """The resource changed since the version the caller based the write on."""

    def __init__(self, kind: str, expected: int, current: int | None = None) -> None:
        if current is None:
            super().__init__(f"The {kind} changed after version {expected}; reload it and retry")
            return
        super().__init__(
            f"The {kind} is at version {current}, not {expected}; reload it and retry",
            metadata={"currentVersion": str(current)},
        )
