"""Who may read which analytics: the checks the report handlers share."""

from __future__ import annotations

from uuid import UUID

from kernel.errors import PermissionDenied
from kernel.security import Caller
from services.analytics.domain.errors import CourseNotFound
from services.analytics.domain.replicas import Course
from services.analytics.service_layer.unit_of_work import AnalyticsUnitOfWork

# Platform-wide metrics; admins hold it, and so may a dedicated analyst role.
PLATFORM_PERMISSION = "analytics:view_platform"


async def owned_course(uow: AnalyticsUnitOfWork, course_id: UUID, caller: Caller) -> Course:
    """The course if the caller is its instructor or an admin (else 404 or 403)."""
    user_id = caller.require_user()
    course = await uow.reports.course(course_id)
    if course is None:
        raise CourseNotFound(course_id)
    if course.instructor_id != user_id and not caller.is_admin:
        raise PermissionDenied("Only the course's instructor or an admin may see its analytics")
    return course


def require_platform_access(caller: Caller) -> None:
    """Admins (or holders of analytics:view_platform) only."""
    caller.require_user()
    if not (caller.is_admin or caller.has_permission(PLATFORM_PERMISSION)):
        raise PermissionDenied("Only admins may see platform metrics")
