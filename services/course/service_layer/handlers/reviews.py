"""Reviews: one per enrolled student and course; the course's rating follows every change."""

from __future__ import annotations

from uuid import UUID

from kernel.errors import PermissionDenied
from kernel.security import Caller
from services.course.domain.errors import NotEnrolled, ReviewNotFound
from services.course.domain.model import Review
from services.course.service_layer.access import visible_course
from services.course.service_layer.commands import (
    CreateReview,
    DeleteReview,
    ListReviews,
    UpdateReview,
)
from services.course.service_layer.unit_of_work import CourseUnitOfWork, Page


async def list_reviews(
    command: ListReviews, uow: CourseUnitOfWork, caller: Caller
) -> tuple[Page[Review], dict[int, int]]:
    """A page of reviews, newest first, and the course's rating histogram."""
    async with uow:
        course = await visible_course(uow, command.course_id, caller)
        page = await uow.queries.reviews_of(course.id, command.page)
        return page, await uow.queries.rating_histogram(course.id)


async def create_review(command: CreateReview, uow: CourseUnitOfWork, caller: Caller) -> Review:
    """Review a course the caller is (or was, to completion) enrolled in."""
    user_id = caller.require_user()
    async with uow:
        course = await visible_course(uow, command.course_id, caller)
        enrollment = await uow.enrollments.find(user_id, course.id)
        if enrollment is None or not enrollment.has_access:
            raise NotEnrolled(course.id)
        review = Review.write(
            course_id=course.id,
            user_id=user_id,
            rating=command.rating,
            title=command.title,
            comment=command.comment,
        )
        await uow.reviews.add(review)
        review.announce_submitted(
            await uow.courses.adjust_rating(course.id, count=1, total=review.rating)
        )
        await uow.commit()
    return review


async def _review(uow: CourseUnitOfWork, review_id: UUID) -> Review:
    review = await uow.reviews.get(review_id)
    if review is None:
        raise ReviewNotFound(review_id)
    return review


async def update_review(command: UpdateReview, uow: CourseUnitOfWork, caller: Caller) -> Review:
    """Edit one's own review."""
    user_id = caller.require_user()
    async with uow:
        review = await _review(uow, command.review_id)
        if review.user_id != user_id:
            raise PermissionDenied("Only the author may edit a review")
        review.expect_version(command.expected_version)
        previous = review.edit(
            rating=command.rating, title=command.title, comment=command.comment, by=user_id
        )
        await uow.reviews.save(review)
        totals = await uow.courses.adjust_rating(
            review.course_id, count=0, total=review.rating - previous
        )
        review.announce_updated(previous, totals)
        await uow.commit()
    return review


async def delete_review(command: DeleteReview, uow: CourseUnitOfWork, caller: Caller) -> None:
    """Delete a review (its author or an admin)."""
    user_id = caller.require_user()
    async with uow:
        review = await _review(uow, command.review_id)
        if review.user_id != user_id and not caller.is_admin:
            raise PermissionDenied("Only the author or an admin may delete a review")
        review.expect_version(command.expected_version)
        review.soft_delete(user_id)
        await uow.reviews.save(review)
        totals = await uow.courses.adjust_rating(review.course_id, count=-1, total=-review.rating)
        review.announce_deleted(user_id, totals)
        await uow.commit()
