"""Enrolments: enrol, unenrol, activate after payment, and the lists of them."""

from __future__ import annotations

from kernel.errors import PermissionDenied
from kernel.security import Caller
from services.course.domain.errors import AlreadyEnrolled, CourseNotFound, EnrollmentNotFound
from services.course.domain.model import Enrollment, EnrollmentStatus, EnrollmentView
from services.course.service_layer.access import owned_course
from services.course.service_layer.commands import (
    ActivateEnrollment,
    Enrol,
    ListMyEnrollments,
    ListStudents,
    Unenrol,
)
from services.course.service_layer.unit_of_work import CourseUnitOfWork, Page

ACTIVATE_PERMISSION = "enrollment:activate"


async def enrol(command: Enrol, uow: CourseUnitOfWork, caller: Caller) -> Enrollment:
    """Enrol the caller in a published course: free -> active, paid -> pending_payment."""
    user_id = caller.require_user()
    async with uow:
        course = await uow.courses.get(command.course_id)
        if course is None or not course.is_public:
            raise CourseNotFound(command.course_id)
        enrollment = await uow.enrollments.find(user_id, course.id)
        if enrollment is None:
            enrollment = Enrollment.start(course, user_id)
            await uow.enrollments.add(enrollment)
        elif enrollment.status == EnrollmentStatus.CANCELLED:
            enrollment.restart(course, user_id)
            await uow.enrollments.save(enrollment)
        else:
            raise AlreadyEnrolled(course.id)
        if enrollment.counts_as_enrolled:
            await uow.courses.adjust_enrollments(course.id, enrolled=1, completed=0)
        await uow.commit()
    return enrollment


async def unenrol(command: Unenrol, uow: CourseUnitOfWork, caller: Caller) -> None:
    """Cancel the caller's enrolment (the row stays, as cancelled)."""
    user_id = caller.require_user()
    async with uow:
        enrollment = await uow.enrollments.find(user_id, command.course_id)
        if enrollment is None or enrollment.status == EnrollmentStatus.CANCELLED:
            raise EnrollmentNotFound(command.course_id)
        was_counted = enrollment.counts_as_enrolled
        previous = enrollment.cancel(user_id)
        await uow.enrollments.save(enrollment)
        if was_counted:
            await uow.courses.adjust_enrollments(
                enrollment.course_id,
                enrolled=-1,
                completed=-1 if previous == EnrollmentStatus.COMPLETED else 0,
            )
        await uow.commit()


async def activate_enrollment(
    command: ActivateEnrollment, uow: CourseUnitOfWork, caller: Caller
) -> Enrollment:
    """Activate a pending enrolment (admins, or holders of enrollment:activate)."""
    user_id = caller.require_user()
    if not (caller.is_admin or caller.has_permission(ACTIVATE_PERMISSION)):
        raise PermissionDenied(f"Missing permission {ACTIVATE_PERMISSION}")
    async with uow:
        enrollment = await uow.enrollments.get(command.enrollment_id)
        if enrollment is None:
            raise EnrollmentNotFound(command.enrollment_id)
        enrollment.activate(user_id)
        await uow.enrollments.save(enrollment)
        await uow.courses.adjust_enrollments(enrollment.course_id, enrolled=1, completed=0)
        await uow.commit()
    return enrollment


async def list_my_enrollments(
    command: ListMyEnrollments, uow: CourseUnitOfWork, caller: Caller
) -> Page[EnrollmentView]:
    """The caller's enrolments (all but cancelled unless that status is asked for)."""
    user_id = caller.require_user()
    async with uow:
        return await uow.queries.enrollments_of(user_id, command.status, command.page)


async def list_students(
    command: ListStudents, uow: CourseUnitOfWork, caller: Caller
) -> Page[Enrollment]:
    """The students of a course, for its owner and admins."""
    async with uow:
        course, _ = await owned_course(uow, command.course_id, caller)
        return await uow.queries.students_of(course.id, command.status, command.page)
