"""Who may see and change a course: the checks every handler shares."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from kernel.errors import DomainError, PermissionDenied
from kernel.security import Caller
from services.course.domain.errors import CourseNotFound
from services.course.domain.model import Course, CourseStatus
from services.course.service_layer.unit_of_work import CourseUnitOfWork

UnitOfWorkFactory = Callable[..., CourseUnitOfWork]


async def visible_course(
    uow: CourseUnitOfWork, course_id: UUID, caller: Caller, missing: DomainError | None = None
) -> Course:
    """The course if the caller may see it: published ones to anyone, others to the owner and
    admins, unpublished or archived ones also to their enrolled students; else `missing`."""
    course = await uow.courses.get(course_id)
    if course is not None:
        if course.visible_to(caller.user_id, is_admin=caller.is_admin):
            return course
        if (
            caller.user_id is not None
            and not course.is_deleted
            and course.status != CourseStatus.DRAFT
        ):
            enrollment = await uow.enrollments.find(caller.user_id, course.id)
            if enrollment is not None and enrollment.has_access:
                return course
    raise missing or CourseNotFound(course_id)


async def owned_course(
    uow: CourseUnitOfWork,
    course_id: UUID,
    caller: Caller,
    *,
    permission: str | None = None,
    for_update: bool = False,
    missing: DomainError | None = None,
) -> tuple[Course, UUID]:
    """The course and the caller's id if the caller owns it (holding `permission`) or is an admin.

    A course the caller cannot even see is reported as `missing` (404), one they can see but do
    not own as PERMISSION_DENIED. `for_update` locks the row: child writes (sections, lessons,
    counters) of one course then run one after the other.
    """
    user_id = caller.require_user()
    course = await uow.courses.get(course_id, for_update=for_update)
    if course is None or not course.visible_to(user_id, is_admin=caller.is_admin):
        raise missing or CourseNotFound(course_id)
    if caller.is_admin:
        return course, user_id
    if course.instructor_id != user_id:
        raise PermissionDenied("Only the course's instructor or an admin may do this")
    if permission is not None:
        caller.require_permission(permission)
    return course, user_id


def require_admin(caller: Caller) -> UUID:
    """The caller's id if they are an admin."""
    user_id = caller.require_user()
    if not caller.is_admin:
        raise PermissionDenied("Only admins may do this")
    return user_id


def parse_uuid(value: str) -> UUID | None:
    """The UUID in `value`, or None when it is not one (a slug, for example)."""
    try:
        return UUID(value)
    except ValueError:
        return None
