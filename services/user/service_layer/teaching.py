"""The teaching replica: course-service facts that make up instructor stats on public profiles.

Each event is applied in one transaction with its inbox record (`claim_event`), so a redelivery
changes nothing; counts change in SQL (`enrollment_count + 1`), never read-modify-write.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from services.user.service_layer.unit_of_work import UserUnitOfWork


@dataclass(frozen=True)
class TeachingFact:
    """One course-service event, reduced to what the replica needs."""

    consumer: str
    event_id: str
    event_type: str
    course_id: UUID
    # course.created: the owner. Other facts leave it None.
    instructor_id: UUID | None = None
    # course.published (True); unpublished, archived, deleted (False); restored keeps it as is.
    published: bool | None = None
    # enrollment.created (+1), enrollment.cancelled (-1).
    students_delta: int = 0
    # review.*: the course's rating average and count after the change.
    rating: tuple[float, int] | None = None


async def apply_teaching_fact(fact: TeachingFact, uow: UserUnitOfWork) -> bool:
    """Apply one fact; False when this consumer had already handled the event."""
    async with uow:
        if not await uow.claim_event(fact.consumer, fact.event_id, fact.event_type):
            return False
        if fact.instructor_id is not None:
            await uow.teaching.course_created(fact.course_id, fact.instructor_id)
        if fact.published is not None:
            await uow.teaching.set_published(fact.course_id, fact.published)
        if fact.students_delta:
            await uow.teaching.add_students(fact.course_id, fact.students_delta)
        if fact.rating is not None:
            await uow.teaching.set_rating(fact.course_id, *fact.rating)
        await uow.commit()
    return True
