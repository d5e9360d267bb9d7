"""gRPC handlers of unpuzzle.course.v1.CourseService: map, call the use case, map back."""

from __future__ import annotations

from uuid import UUID

from kernel.grpc_server import Context
from kernel.pagination import PageTokenCodec
from kernel.security import current_caller
from services.course import mappers
from services.course.domain.model import CourseDetails
from services.course.entrypoints.course_views import CourseViews
from services.course.service_layer import commands
from services.course.service_layer.access import UnitOfWorkFactory
from services.course.service_layer.handlers import (
    categories,
    courses,
    enrollments,
    outline,
    quizzes,
    reviews,
)
from services.course.service_layer.unit_of_work import CourseUnitOfWork
from unpuzzle.course.v1 import course_pb2, course_service_pb2_grpc
from unpuzzle.course.v1 import course_service_pb2 as api


def _if_match(context: Context) -> str | None:
    """The `If-Match` header the gateway forwards as metadata."""
    for key, value in context.invocation_metadata() or ():
        if key == "if-match" and isinstance(value, str):
            return value
    return None


class CourseServicer(course_service_pb2_grpc.CourseServiceServicer):
    """Thin adapter: every method is protobuf in, handler, protobuf out."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, views: CourseViews, page_tokens: PageTokenCodec
    ) -> None:
        self._uow_factory = uow_factory
        self._views = views
        self._tokens = page_tokens

    def _uow(self) -> CourseUnitOfWork:
        return self._uow_factory()

    def _reader(self) -> CourseUnitOfWork:
        return self._uow_factory(read_only=True)

    async def _course(self, details: CourseDetails) -> course_pb2.Course:
        return await self._views.complete(mappers.course_message(details), current_caller())

    # ------------------------------------------------------------------------- categories

    async def ListCategories(
        self, request: api.ListCategoriesRequest, context: Context
    ) -> api.ListCategoriesResponse:
        """The category tree (cached)."""
        return await self._views.categories()

    async def CreateCategory(
        self, request: api.CreateCategoryRequest, context: Context
    ) -> api.CreateCategoryResponse:
        """Add a category (admins)."""
        category = await categories.create_category(
            mappers.create_category_command(request), self._uow(), current_caller()
        )
        return api.CreateCategoryResponse(category=mappers.category_message(category))

    async def UpdateCategory(
        self, request: api.UpdateCategoryRequest, context: Context
    ) -> api.UpdateCategoryResponse:
        """Change a category (admins)."""
        category = await categories.update_category(
            mappers.update_category_command(request, _if_match(context)),
            self._uow(),
            current_caller(),
        )
        return api.UpdateCategoryResponse(category=mappers.category_message(category))

    async def DeleteCategory(
        self, request: api.DeleteCategoryRequest, context: Context
    ) -> api.DeleteCategoryResponse:
        """Remove an empty category (admins)."""
        await categories.delete_category(
            commands.DeleteCategory(
                UUID(request.category_id),
                mappers.expected_version(request.version, _if_match(context)),
            ),
            self._uow(),
            current_caller(),
        )
        return api.DeleteCategoryResponse()

    # ------------------------------------------------------------------------- courses

    async def ListCourses(
        self, request: api.ListCoursesRequest, context: Context
    ) -> api.ListCoursesResponse:
        """A catalogue page (cached)."""
        return await self._views.course_page(request)

    async def CreateCourse(
        self, request: api.CreateCourseRequest, context: Context
    ) -> api.CreateCourseResponse:
        """Create a draft course."""
        details = await courses.create_course(
            mappers.create_course_command(request), self._uow(), current_caller()
        )
        return api.CreateCourseResponse(course=await self._course(details))

    async def GetCourse(
        self, request: api.GetCourseRequest, context: Context
    ) -> api.GetCourseResponse:
        """Read a course by id or slug."""
        course = await self._views.course(request.course_id_or_slug, current_caller())
        return api.GetCourseResponse(course=course)

    async def UpdateCourse(
        self, request: api.UpdateCourseRequest, context: Context
    ) -> api.UpdateCourseResponse:
        """Change catalogue fields of a course."""
        details = await courses.update_course(
            mappers.update_course_command(request, _if_match(context)),
            self._uow(),
            current_caller(),
        )
        return api.UpdateCourseResponse(course=await self._course(details))

    async def DeleteCourse(
        self, request: api.DeleteCourseRequest, context: Context
    ) -> api.DeleteCourseResponse:
        """Soft-delete a course."""
        await courses.delete_course(
            mappers.course_action(request, _if_match(context)), self._uow(), current_caller()
        )
        return api.DeleteCourseResponse()

    async def RestoreCourse(
        self, request: api.RestoreCourseRequest, context: Context
    ) -> api.RestoreCourseResponse:
        """Undo a soft delete."""
        details = await courses.restore_course(
            mappers.course_action(request, _if_match(context)), self._uow(), current_caller()
        )
        return api.RestoreCourseResponse(course=await self._course(details))

    async def PublishCourse(
        self, request: api.PublishCourseRequest, context: Context
    ) -> api.PublishCourseResponse:
        """Publish a course."""
        details = await courses.publish_course(
            mappers.course_action(request, _if_match(context)), self._uow(), current_caller()
        )
        return api.PublishCourseResponse(course=await self._course(details))

    async def UnpublishCourse(
        self, request: api.UnpublishCourseRequest, context: Context
    ) -> api.UnpublishCourseResponse:
        """Unpublish a course."""
        details = await courses.unpublish_course(
            mappers.course_action(request, _if_match(context)), self._uow(), current_caller()
        )
        return api.UnpublishCourseResponse(course=await self._course(details))

    async def ArchiveCourse(
        self, request: api.ArchiveCourseRequest, context: Context
    ) -> api.ArchiveCourseResponse:
        """Archive a course."""
        details = await courses.archive_course(
            mappers.course_action(request, _if_match(context)), self._uow(), current_caller()
        )
        return api.ArchiveCourseResponse(course=await self._course(details))

    async def DuplicateCourse(
        self, request: api.DuplicateCourseRequest, context: Context
    ) -> api.DuplicateCourseResponse:
        """Deep-copy a course as a draft."""
        details = await courses.duplicate_course(
            commands.DuplicateCourse(UUID(request.course_id)), self._uow(), current_caller()
        )
        return api.DuplicateCourseResponse(course=await self._course(details))

    async def ListTeachingCourses(
        self, request: api.ListTeachingCoursesRequest, context: Context
    ) -> api.ListTeachingCoursesResponse:
        """The caller's own courses."""
        filters = {"status": request.status}
        page = mappers.page_request(self._tokens, request.page_size, request.page_token, filters)
        found = await courses.list_teaching(
            commands.ListTeaching(mappers.course_status(request.status), page),
            self._reader(),
            current_caller(),
        )
        return api.ListTeachingCoursesResponse(
            courses=[mappers.teaching_course(card) for card in found.items],
            pagination=mappers.pagination(self._tokens, found, page, filters),
        )

    # ------------------------------------------------------------------------- sections

    async def ListSections(
        self, request: api.ListSectionsRequest, context: Context
    ) -> api.ListSectionsResponse:
        """The outline of a course."""
        views = await outline.list_sections(
            commands.ListSections(UUID(request.course_id)), self._reader(), current_caller()
        )
        return api.ListSectionsResponse(sections=[mappers.section_message(v) for v in views])

    async def CreateSection(
        self, request: api.CreateSectionRequest, context: Context
    ) -> api.CreateSectionResponse:
        """Append a section."""
        view = await outline.create_section(
            commands.CreateSection(UUID(request.course_id), request.title),
            self._uow(),
            current_caller(),
        )
        return api.CreateSectionResponse(section=mappers.section_message(view))

    async def UpdateSection(
        self, request: api.UpdateSectionRequest, context: Context
    ) -> api.UpdateSectionResponse:
        """Rename a section."""
        view = await outline.update_section(
            mappers.update_section_command(request, _if_match(context)),
            self._uow(),
            current_caller(),
        )
        return api.UpdateSectionResponse(section=mappers.section_message(view))

    async def DeleteSection(
        self, request: api.DeleteSectionRequest, context: Context
    ) -> api.DeleteSectionResponse:
        """Remove a section and its lessons."""
        await outline.delete_section(
            commands.DeleteSection(
                UUID(request.course_id),
                UUID(request.section_id),
                mappers.expected_version(request.version, _if_match(context)),
            ),
            self._uow(),
            current_caller(),
        )
        return api.DeleteSectionResponse()

    async def ReorderSections(
        self, request: api.ReorderSectionsRequest, context: Context
    ) -> api.ReorderSectionsResponse:
        """Put every section in a new order."""
        views = await outline.reorder_sections(
            commands.ReorderSections(
                UUID(request.course_id), tuple(UUID(i) for i in request.section_ids)
            ),
            self._uow(),
            current_caller(),
        )
        return api.ReorderSectionsResponse(sections=[mappers.section_message(v) for v in views])

    # ------------------------------------------------------------------------- lessons

    async def CreateLesson(
        self, request: api.CreateLessonRequest, context: Context
    ) -> api.CreateLessonResponse:
        """Append a lesson."""
        view = await outline.create_lesson(
            mappers.create_lesson_command(request), self._uow(), current_caller()
        )
        return api.CreateLessonResponse(lesson=mappers.lesson_message(view))

    async def GetLesson(
        self, request: api.GetLessonRequest, context: Context
    ) -> api.GetLessonResponse:
        """Read a lesson (enrolled, owner, admin; anyone for previews)."""
        view = await outline.get_lesson(
            commands.GetLesson(UUID(request.lesson_id)), self._reader(), current_caller()
        )
        return api.GetLessonResponse(lesson=mappers.lesson_message(view))

    async def UpdateLesson(
        self, request: api.UpdateLessonRequest, context: Context
    ) -> api.UpdateLessonResponse:
        """Change a lesson."""
        view = await outline.update_lesson(
            mappers.update_lesson_command(request, _if_match(context)),
            self._uow(),
            current_caller(),
        )
        return api.UpdateLessonResponse(lesson=mappers.lesson_message(view))

    async def DeleteLesson(
        self, request: api.DeleteLessonRequest, context: Context
    ) -> api.DeleteLessonResponse:
        """Remove a lesson."""
        await outline.delete_lesson(
            commands.DeleteLesson(
                UUID(request.lesson_id),
                mappers.expected_version(request.version, _if_match(context)),
            ),
            self._uow(),
            current_caller(),
        )
        return api.DeleteLessonResponse()

    async def ReorderLessons(
        self, request: api.ReorderLessonsRequest, context: Context
    ) -> api.ReorderLessonsResponse:
        """Put every lesson of a section in a new order."""
        view = await outline.reorder_lessons(
            commands.ReorderLessons(
                UUID(request.section_id), tuple(UUID(i) for i in request.lesson_ids)
            ),
            self._uow(),
            current_caller(),
        )
        return api.ReorderLessonsResponse(section=mappers.section_message(view))

    async def MoveLesson(
        self, request: api.MoveLessonRequest, context: Context
    ) -> api.MoveLessonResponse:
        """Move a lesson to another section of its course."""
        view = await outline.move_lesson(
            commands.MoveLesson(
                UUID(request.lesson_id),
                UUID(request.section_id),
                request.order if request.HasField("order") else None,
                mappers.expected_version(request.version, _if_match(context)),
            ),
            self._uow(),
            current_caller(),
        )
        return api.MoveLessonResponse(lesson=mappers.lesson_message(view))

    # ------------------------------------------------------------------------- quizzes

    async def CreateQuizQuestion(
        self, request: api.CreateQuizQuestionRequest, context: Context
    ) -> api.CreateQuizQuestionResponse:
        """Add a quiz question to a lesson."""
        question = await quizzes.create_question(
            commands.CreateQuizQuestion(
                lesson_id=UUID(request.lesson_id),
                prompt=request.prompt,
                options=tuple(request.options),
                correct_option=request.correct_option,
                explanation=request.explanation,
                timestamp_seconds=request.timestamp_seconds,
            ),
            self._uow(),
            current_caller(),
        )
        return api.CreateQuizQuestionResponse(
            question=mappers.question_message(question, reveal=True)
        )

    async def UpdateQuizQuestion(
        self, request: api.UpdateQuizQuestionRequest, context: Context
    ) -> api.UpdateQuizQuestionResponse:
        """Change a quiz question."""
        question = await quizzes.update_question(
            mappers.update_question_command(request, _if_match(context)),
            self._uow(),
            current_caller(),
        )
        return api.UpdateQuizQuestionResponse(
            question=mappers.question_message(question, reveal=True)
        )

    async def DeleteQuizQuestion(
        self, request: api.DeleteQuizQuestionRequest, context: Context
    ) -> api.DeleteQuizQuestionResponse:
        """Remove a quiz question."""
        await quizzes.delete_question(
            commands.DeleteQuizQuestion(
                UUID(request.question_id),
                mappers.expected_version(request.version, _if_match(context)),
            ),
            self._uow(),
            current_caller(),
        )
        return api.DeleteQuizQuestionResponse()

    async def CreateQuizAttempt(
        self, request: api.CreateQuizAttemptRequest, context: Context
    ) -> api.CreateQuizAttemptResponse:
        """Answer a quiz question."""
        attempt, question = await quizzes.attempt_question(
            commands.AttemptQuiz(
                UUID(request.question_id), request.selected_option, request.time_spent_seconds
            ),
            self._uow(),
            current_caller(),
        )
        return api.CreateQuizAttemptResponse(attempt=mappers.attempt_message(attempt, question))

    # ------------------------------------------------------------------------- enrolments

    async def CreateEnrollment(
        self, request: api.CreateEnrollmentRequest, context: Context
    ) -> api.CreateEnrollmentResponse:
        """Enrol the caller."""
        enrollment = await enrollments.enrol(
            commands.Enrol(UUID(request.course_id)), self._uow(), current_caller()
        )
        return api.CreateEnrollmentResponse(enrollment=mappers.enrollment_message(enrollment))

    async def DeleteEnrollment(
        self, request: api.DeleteEnrollmentRequest, context: Context
    ) -> api.DeleteEnrollmentResponse:
        """Unenrol the caller."""
        await enrollments.unenrol(
            commands.Unenrol(UUID(request.course_id)), self._uow(), current_caller()
        )
        return api.DeleteEnrollmentResponse()

    async def ActivateEnrollment(
        self, request: api.ActivateEnrollmentRequest, context: Context
    ) -> api.ActivateEnrollmentResponse:
        """Activate a pending enrolment."""
        enrollment = await enrollments.activate_enrollment(
            commands.ActivateEnrollment(UUID(request.enrollment_id)), self._uow(), current_caller()
        )
        return api.ActivateEnrollmentResponse(enrollment=mappers.enrollment_message(enrollment))

    async def ListMyEnrollments(
        self, request: api.ListMyEnrollmentsRequest, context: Context
    ) -> api.ListMyEnrollmentsResponse:
        """The caller's enrolments."""
        filters = {"status": request.status}
        page = mappers.page_request(self._tokens, request.page_size, request.page_token, filters)
        found = await enrollments.list_my_enrollments(
            commands.ListMyEnrollments(mappers.enrollment_status(request.status), page),
            self._reader(),
            current_caller(),
        )
        return api.ListMyEnrollmentsResponse(
            enrollments=[mappers.enrollment_message(v.enrollment, v.course) for v in found.items],
            pagination=mappers.pagination(self._tokens, found, page, filters),
        )

    async def ListCourseStudents(
        self, request: api.ListCourseStudentsRequest, context: Context
    ) -> api.ListCourseStudentsResponse:
        """The students of a course."""
        filters = {"courseId": request.course_id, "status": request.status}
        page = mappers.page_request(self._tokens, request.page_size, request.page_token, filters)
        found = await enrollments.list_students(
            commands.ListStudents(
                UUID(request.course_id), mappers.enrollment_status(request.status), page
            ),
            self._reader(),
            current_caller(),
        )
        return api.ListCourseStudentsResponse(
            students=[mappers.student_message(e) for e in found.items],
            pagination=mappers.pagination(self._tokens, found, page, filters),
        )

    # ------------------------------------------------------------------------- reviews

    async def ListReviews(
        self, request: api.ListReviewsRequest, context: Context
    ) -> api.ListReviewsResponse:
        """Reviews of a course with the rating histogram."""
        filters = {"courseId": request.course_id}
        page = mappers.page_request(self._tokens, request.page_size, request.page_token, filters)
        found, histogram = await reviews.list_reviews(
            commands.ListReviews(UUID(request.course_id), page), self._reader(), current_caller()
        )
        return api.ListReviewsResponse(
            reviews=[mappers.review_message(r) for r in found.items],
            pagination=mappers.pagination(self._tokens, found, page, filters),
            rating_histogram=histogram,
        )

    async def CreateReview(
        self, request: api.CreateReviewRequest, context: Context
    ) -> api.CreateReviewResponse:
        """Review a course."""
        review = await reviews.create_review(
            commands.CreateReview(
                UUID(request.course_id), request.rating, request.title, request.comment
            ),
            self._uow(),
            current_caller(),
        )
        return api.CreateReviewResponse(review=mappers.review_message(review))

    async def UpdateReview(
        self, request: api.UpdateReviewRequest, context: Context
    ) -> api.UpdateReviewResponse:
        """Edit one's review."""
        review = await reviews.update_review(
            mappers.update_review_command(request, _if_match(context)),
            self._uow(),
            current_caller(),
        )
        return api.UpdateReviewResponse(review=mappers.review_message(review))

    async def DeleteReview(
        self, request: api.DeleteReviewRequest, context: Context
    ) -> api.DeleteReviewResponse:
        """Delete a review."""
        await reviews.delete_review(
            commands.DeleteReview(
                UUID(request.review_id),
                mappers.expected_version(request.version, _if_match(context)),
            ),
            self._uow(),
            current_caller(),
        )
        return api.DeleteReviewResponse()
