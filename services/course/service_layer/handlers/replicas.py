"""Effects of other services' events: the instructor replica and enrolment progress.

Both are idempotent without an inbox: a profile or progress report older than the one stored
(by the producer's aggregate version) changes nothing, and completion counts only on the
transition to completed.
"""

from __future__ import annotations

from services.course.domain.model import InstructorProfile
from services.course.service_layer.commands import ApplyInstructorProfile, ApplyProgress
from services.course.service_layer.unit_of_work import CourseUnitOfWork


async def apply_instructor_profile(command: ApplyInstructorProfile, uow: CourseUnitOfWork) -> bool:
    """Upsert the replicated profile unless a newer one is stored; True when it changed."""
    profile = InstructorProfile(
        id=command.user_id, display_name=command.display_name, avatar_url=command.avatar_url
    )
    async with uow:
        changed = await uow.instructors.upsert(profile, command.source_version)
        await uow.commit()
    return changed


async def apply_progress(command: ApplyProgress, uow: CourseUnitOfWork) -> bool:
    """Record a student's progress; completion also counts in the course's completionCount.

    Returns True when the enrolment changed. Progress for a student without an enrolment
    (cancelled meanwhile, or never enrolled) is ignored.
    """
    async with uow:
        enrollment = await uow.enrollments.find(command.user_id, command.course_id)
        if enrollment is None:
            return False
        completed_now = enrollment.record_progress(
            percent=command.progress_percent,
            source_version=command.source_version,
            at=command.occurred_at,
            completed=command.completed,
        )
        if not enrollment.has_changes:
            return False
        await uow.enrollments.save(enrollment)
        if completed_now:
            await uow.courses.adjust_enrollments(enrollment.course_id, enrolled=0, completed=1)
        await uow.commit()
    return True
