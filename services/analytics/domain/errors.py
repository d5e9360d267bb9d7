"""Domain errors of the analytics service, named for what went wrong."""

from __future__ import annotations

from uuid import UUID

from kernel.errors import NotFound, PermissionDenied


class NotEnrolled(PermissionDenied):
    """Progress needs an active or completed enrolment in the lesson's course."""

    reason = "NOT_ENROLLED"

    def __init__(self) -> None:
        super().__init__("Enrol in the course to record and see progress")


class LessonNotFound(NotFound):
    """No such lesson (or it was deleted)."""

    reason = "LESSON_NOT_FOUND"

    def __init__(self, lesson_id: UUID) -> None:
        super().__init__(f"Lesson {lesson_id} not found")


class CourseNotFound(NotFound):
    """No such course."""

    reason = "COURSE_NOT_FOUND"

    def __init__(self, course_id: UUID) -> None:
        super().__init__(f"Course {course_id} not found")


class EnrollmentNotFound(NotFound):
    """The student never enrolled in the course."""

    reason = "ENROLLMENT_NOT_FOUND"

    def __init__(self, course_id: UUID, student_id: UUID) -> None:
        super().__init__(f"Student {student_id} is not enrolled in course {course_id}")
