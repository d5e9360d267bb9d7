"""In-video quiz questions (edited by the owner) and the attempts of enrolled students."""

from __future__ import annotations

from uuid import UUID

from kernel.security import Caller
from services.course.domain.errors import LessonNotFound, NotEnrolled, QuizQuestionNotFound
from services.course.domain.model import QuizAttempt, QuizQuestion
from services.course.service_layer.access import owned_course
from services.course.service_layer.commands import (
    AttemptQuiz,
    CreateQuizQuestion,
    DeleteQuizQuestion,
    UpdateQuizQuestion,
)
from services.course.service_layer.unit_of_work import CourseUnitOfWork


async def _owned_question(
    uow: CourseUnitOfWork, question_id: UUID, caller: Caller
) -> tuple[QuizQuestion, UUID]:
    question = await uow.quiz_questions.get(question_id)
    if question is None:
        raise QuizQuestionNotFound(question_id)
    _, user_id = await owned_course(
        uow,
        question.course_id,
        caller,
        permission="course:update",
        missing=QuizQuestionNotFound(question_id),
    )
    return question, user_id


async def create_question(
    command: CreateQuizQuestion, uow: CourseUnitOfWork, caller: Caller
) -> QuizQuestion:
    """Add a question at a timestamp of a lesson."""
    async with uow:
        lesson = await uow.lessons.get(command.lesson_id)
        if lesson is None:
            raise LessonNotFound(command.lesson_id)
        _, user_id = await owned_course(
            uow,
            lesson.course_id,
            caller,
            permission="course:update",
            missing=LessonNotFound(command.lesson_id),
        )
        question = QuizQuestion.create(
            lesson,
            prompt=command.prompt,
            options=command.options,
            correct_option=command.correct_option,
            explanation=command.explanation,
            timestamp_seconds=command.timestamp_seconds,
            by=user_id,
        )
        await uow.quiz_questions.add(question)
        await uow.commit()
    return question


async def update_question(
    command: UpdateQuizQuestion, uow: CourseUnitOfWork, caller: Caller
) -> QuizQuestion:
    """Change a question (options and correct option are checked together)."""
    async with uow:
        question, user_id = await _owned_question(uow, command.question_id, caller)
        question.expect_version(command.expected_version)
        question.update(command.changes, user_id)
        if question.has_changes:
            await uow.quiz_questions.save(question)
        await uow.commit()
    return question


async def delete_question(
    command: DeleteQuizQuestion, uow: CourseUnitOfWork, caller: Caller
) -> None:
    """Soft-delete a question (its attempts stay)."""
    async with uow:
        question, user_id = await _owned_question(uow, command.question_id, caller)
        question.expect_version(command.expected_version)
        question.soft_delete(user_id)
        await uow.quiz_questions.save(question)
        await uow.commit()


async def attempt_question(
    command: AttemptQuiz, uow: CourseUnitOfWork, caller: Caller
) -> tuple[QuizAttempt, QuizQuestion]:
    """Grade and store an answer of an enrolled student; the question reveals its answer."""
    user_id = caller.require_user()
    async with uow:
        question = await uow.quiz_questions.get(command.question_id)
        lesson = None if question is None else await uow.lessons.get(question.lesson_id)
        course = None if lesson is None else await uow.courses.get(lesson.course_id)
        if question is None or course is None or course.is_deleted:
            raise QuizQuestionNotFound(command.question_id)
        enrollment = await uow.enrollments.find(user_id, course.id)
        if enrollment is None or not enrollment.has_access:
            raise NotEnrolled(course.id)
        attempt = question.answer(
            user_id=user_id,
            selected_option=command.selected_option,
            time_spent_seconds=command.time_spent_seconds,
        )
        await uow.quiz_attempts.add(attempt)
        await uow.commit()
    return attempt, question
