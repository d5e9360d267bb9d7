"""Enrolments, quizzes and reviews, with the course counters they keep."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kernel.errors import PermissionDenied, ValidationFailed
from services.course.domain.errors import (
    AlreadyEnrolled,
    CourseNotFound,
    EnrollmentNotFound,
    InvalidStateTransition,
    NotEnrolled,
    ReviewAlreadyExists,
)
from services.course.domain.events import QuizAttempted, ReviewDeleted
from services.course.domain.model import KEEP, EnrollmentStatus, QuizQuestionChanges
from services.course.service_layer.commands import (
    ActivateEnrollment,
    AttemptQuiz,
    CreateQuizQuestion,
    CreateReview,
    DeleteReview,
    Enrol,
    Unenrol,
    UpdateQuizQuestion,
    UpdateReview,
)
from services.course.service_layer.handlers import enrollments, quizzes, reviews
from services.course.tests.fakes import FakeCourseUnitOfWork
from services.course.tests.unit.builders import (
    ADMIN,
    draft,
    enrolled,
    instructor,
    published,
    student,
)


async def test_free_course_enrols_active_and_twice_is_refused():
    uow = FakeCourseUnitOfWork()
    course_id, _, _ = await published(uow, instructor())
    learner = student()
    enrollment = await enrollments.enrol(Enrol(course_id), uow, learner)
    assert enrollment.status is EnrollmentStatus.ACTIVE
    with pytest.raises(AlreadyEnrolled):
        await enrollments.enrol(Enrol(course_id), uow, learner)
    assert uow.store.courses[course_id].enrollment_count == 1


async def test_paid_course_waits_for_activation_by_an_admin():
    uow = FakeCourseUnitOfWork()
    course_id, _, _ = await published(uow, instructor(), price=Decimal("30"))
    learner = student()
    pending = await enrollments.enrol(Enrol(course_id), uow, learner)
    assert pending.status is EnrollmentStatus.PENDING_PAYMENT
    assert uow.store.courses[course_id].enrollment_count == 0
    with pytest.raises(PermissionDenied):
        await enrollments.activate_enrollment(ActivateEnrollment(pending.id), uow, learner)
    active = await enrollments.activate_enrollment(ActivateEnrollment(pending.id), uow, ADMIN)
    assert active.status is EnrollmentStatus.ACTIVE
    assert uow.store.courses[course_id].enrollment_count == 1
    with pytest.raises(InvalidStateTransition):
        await enrollments.activate_enrollment(ActivateEnrollment(pending.id), uow, ADMIN)


async def test_unpublished_courses_cannot_be_joined():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    course = (await draft(uow, owner)).course
    with pytest.raises(CourseNotFound):
        await enrollments.enrol(Enrol(course.id), uow, student())


async def test_unenrol_cancels_and_a_new_enrolment_starts_over():
    uow = FakeCourseUnitOfWork()
    course_id, _, _ = await published(uow, instructor())
    learner = await enrolled(uow, course_id)
    await enrollments.unenrol(Unenrol(course_id), uow, learner)
    assert uow.store.courses[course_id].enrollment_count == 0
    with pytest.raises(EnrollmentNotFound):
        await enrollments.unenrol(Unenrol(course_id), uow, learner)
    again = await enrollments.enrol(Enrol(course_id), uow, learner)
    assert again.status is EnrollmentStatus.ACTIVE
    assert len(uow.store.enrollments) == 1
    assert uow.event_types()[-3:] == [
        "EnrollmentCreated",
        "EnrollmentCancelled",
        "EnrollmentCreated",
    ]


async def _question(uow, owner, lesson_id, **fields):
    command = CreateQuizQuestion(
        lesson_id=lesson_id,
        prompt=fields.get("prompt", "2 + 2?"),
        options=fields.get("options", ("3", "4", "5")),
        correct_option=fields.get("correct_option", 1),
        explanation="Count them",
    )
    return await quizzes.create_question(command, uow, owner)


async def test_quiz_questions_need_two_to_six_options_and_a_valid_answer():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    _, _, (lesson, _) = await published(uow, owner)
    for options, correct in ((("only",), 0), (tuple("abcdefg"), 0), (("a", "b"), 2)):
        with pytest.raises(ValidationFailed):
            await _question(uow, owner, lesson, options=options, correct_option=correct)
    question = await _question(uow, owner, lesson)
    with pytest.raises(ValidationFailed):
        await quizzes.update_question(
            UpdateQuizQuestion(question.id, QuizQuestionChanges(correct_option=3)), uow, owner
        )
    updated = await quizzes.update_question(
        UpdateQuizQuestion(question.id, QuizQuestionChanges(options=("a", "b"), correct_option=0)),
        uow,
        owner,
    )
    assert (updated.options, updated.correct_option, updated.version) == (["a", "b"], 0, 2)


async def test_enrolled_students_answer_and_see_the_answer_afterwards():
    uow, owner = FakeCourseUnitOfWork(), instructor()
    course_id, _, (lesson, _) = await published(uow, owner)
    question = await _question(uow, owner, lesson)
    with pytest.raises(NotEnrolled):
        await quizzes.attempt_question(AttemptQuiz(question.id, 1), uow, student())
    learner = await enrolled(uow, course_id)
    attempt, answered = await quizzes.attempt_question(AttemptQuiz(question.id, 2, 9), uow, learner)
    assert not attempt.correct
    assert answered.correct_option == 1
    assert len(uow.store.attempts) == 1
    event = uow.published[-1].event
    assert isinstance(event, QuizAttempted)
    assert (event.lesson_id, event.selected_option, event.correct) == (lesson, 2, False)
    with pytest.raises(ValidationFailed):
        await quizzes.attempt_question(AttemptQuiz(question.id, 5), uow, learner)


async def test_reviews_need_an_enrolment_one_per_student_and_move_the_rating():
    uow = FakeCourseUnitOfWork()
    course_id, _, _ = await published(uow, instructor())
    with pytest.raises(NotEnrolled):
        await reviews.create_review(CreateReview(course_id, 5), uow, student())
    first, second = await enrolled(uow, course_id), await enrolled(uow, course_id)
    review = await reviews.create_review(CreateReview(course_id, 5, "Great"), uow, first)
    await reviews.create_review(CreateReview(course_id, 2), uow, second)
    with pytest.raises(ReviewAlreadyExists):
        await reviews.create_review(CreateReview(course_id, 4), uow, first)
    course = uow.store.courses[course_id]
    assert (course.rating_average, course.rating_count) == (3.5, 2)

    edit = UpdateReview(review_id=review.id, rating=3, title=KEEP, comment=KEEP)
    with pytest.raises(PermissionDenied):
        await reviews.update_review(edit, uow, second)
    await reviews.update_review(edit, uow, first)
    assert uow.store.courses[course_id].rating_average == 2.5
    assert uow.store.reviews[review.id].title == "Great"

    await reviews.delete_review(DeleteReview(review.id), uow, ADMIN)
    course = uow.store.courses[course_id]
    assert (course.rating_average, course.rating_count) == (2.0, 1)
    event = uow.published[-1].event
    assert isinstance(event, ReviewDeleted)
    assert event.deleted_by == ADMIN.user_id
    again = await reviews.create_review(CreateReview(course_id, 4), uow, first)
    assert again.id != review.id


async def test_pending_payment_does_not_allow_reviews():
    uow = FakeCourseUnitOfWork()
    course_id, _, _ = await published(uow, instructor(), price=Decimal("9"))
    learner = await enrolled(uow, course_id)
    with pytest.raises(NotEnrolled):
        await reviews.create_review(CreateReview(course_id, 5), uow, learner)
