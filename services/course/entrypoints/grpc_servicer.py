"""gRPC handlers of unpuzzle.course.v1.CourseService: map, call the use case, map back."""

from __future__ import annotations

from kernel.grpc_server import Context
from kernel.security import current_caller
from services.course import mappers
from services.course.service_layer import handlers
from services.course.service_layer.handlers import UnitOfWorkFactory
from unpuzzle.course.v1 import course_service_pb2, course_service_pb2_grpc


class CourseServicer(course_service_pb2_grpc.CourseServiceServicer):
    """Thin adapter: every method is protobuf in, handler, protobuf out."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory

    async def CreateCourse(
        self, request: course_service_pb2.CreateCourseRequest, context: Context
    ) -> course_service_pb2.CreateCourseResponse:
        """Create a draft course."""
        details = await handlers.create_course(
            mappers.create_course_command(request), self._uow(), current_caller()
        )
        return course_service_pb2.CreateCourseResponse(course=mappers.course_message(details))

    async def GetCourse(
        self, request: course_service_pb2.GetCourseRequest, context: Context
    ) -> course_service_pb2.GetCourseResponse:
        """Read a course by id or slug."""
        details = await handlers.get_course(
            mappers.get_course_command(request), self._uow(read_only=True), current_caller()
        )
        return course_service_pb2.GetCourseResponse(course=mappers.course_message(details))
