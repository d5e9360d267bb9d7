"""gRPC handlers of unpuzzle.analytics.v1.AnalyticsService: map, call the use case, map back."""

from __future__ import annotations

from uuid import UUID

from kernel.clock import utc_now
from kernel.grpc_server import Context
from kernel.security import current_caller
from services.analytics import mappers
from services.analytics.domain.views import PlatformStats
from services.analytics.service_layer.caching import TtlValue
from services.analytics.service_layer.commands import (
    CompleteLesson,
    ExportCourseAnalytics,
    GetAdminMetrics,
    GetCourseAnalytics,
    GetMyCourseProgress,
    GetStudentProgress,
)
from services.analytics.service_layer.handlers import UnitOfWorkFactory, progress, reports
from unpuzzle.analytics.v1 import analytics_service_pb2 as pb
from unpuzzle.analytics.v1 import analytics_service_pb2_grpc


class AnalyticsServicer(analytics_service_pb2_grpc.AnalyticsServiceServicer):
    """Thin adapter: every method is protobuf in, handler, protobuf out."""

    def __init__(self, uow_factory: UnitOfWorkFactory, stats: TtlValue[PlatformStats]) -> None:
        self._uow = uow_factory
        self._stats = stats

    async def RecordHeartbeat(
        self, request: pb.RecordHeartbeatRequest, context: Context
    ) -> pb.RecordHeartbeatResponse:
        """One heartbeat of the player."""
        command = mappers.heartbeat_command(request, utc_now())
        recorded = await progress.record_heartbeat(command, self._uow(), current_caller())
        return pb.RecordHeartbeatResponse(progress=mappers.lesson_progress_message(recorded))

    async def RecordHeartbeats(
        self, request: pb.RecordHeartbeatsRequest, context: Context
    ) -> pb.RecordHeartbeatsResponse:
        """An offline batch of heartbeats."""
        command = mappers.heartbeats_command(request)
        recorded = await progress.record_heartbeats(command, self._uow(), current_caller())
        return mappers.heartbeats_response(recorded.progress, recorded.rejected)

    async def CompleteLesson(
        self, request: pb.CompleteLessonRequest, context: Context
    ) -> pb.CompleteLessonResponse:
        """Mark a lesson complete."""
        command = CompleteLesson(UUID(request.lesson_id))
        completed = await progress.complete_lesson(command, self._uow(), current_caller())
        return pb.CompleteLessonResponse(progress=mappers.lesson_progress_message(completed))

    async def GetMyCourseProgress(
        self, request: pb.GetMyCourseProgressRequest, context: Context
    ) -> pb.GetMyCourseProgressResponse:
        """The caller's progress in a course."""
        view = await reports.get_my_course_progress(
            GetMyCourseProgress(UUID(request.course_id)),
            self._uow(read_only=True),
            current_caller(),
        )
        return pb.GetMyCourseProgressResponse(progress=mappers.course_progress_message(view))

    async def GetMyDashboard(
        self, request: pb.GetMyDashboardRequest, context: Context
    ) -> pb.GetMyDashboardResponse:
        """The caller's dashboard."""
        view = await reports.get_dashboard(self._uow(read_only=True), current_caller())
        return pb.GetMyDashboardResponse(dashboard=mappers.dashboard_message(view))

    async def GetCourseAnalytics(
        self, request: pb.GetCourseAnalyticsRequest, context: Context
    ) -> pb.GetCourseAnalyticsResponse:
        """A course's analytics for its instructor."""
        command = GetCourseAnalytics(UUID(request.course_id), request.from_date, request.to_date)
        view = await reports.get_course_analytics(
            command, self._uow(read_only=True), current_caller()
        )
        return pb.GetCourseAnalyticsResponse(analytics=mappers.course_analytics_message(view))

    async def GetStudentProgress(
        self, request: pb.GetStudentProgressRequest, context: Context
    ) -> pb.GetStudentProgressResponse:
        """One student's progress, for the course's instructor."""
        command = GetStudentProgress(UUID(request.course_id), UUID(request.student_id))
        view = await reports.get_student_progress(
            command, self._uow(read_only=True), current_caller()
        )
        return pb.GetStudentProgressResponse(progress=mappers.student_progress_message(view))

    async def ExportCourseAnalytics(
        self, request: pb.ExportCourseAnalyticsRequest, context: Context
    ) -> pb.ExportCourseAnalyticsResponse:
        """Per-student progress as CSV."""
        export = await reports.export_course_analytics(
            ExportCourseAnalytics(UUID(request.course_id)),
            self._uow(read_only=True),
            current_caller(),
        )
        return mappers.export_response(export)

    async def GetPlatformStats(
        self, request: pb.GetPlatformStatsRequest, context: Context
    ) -> pb.GetPlatformStatsResponse:
        """Platform totals (cached)."""
        stats = await reports.get_platform_stats(self._uow(read_only=True), self._stats)
        return pb.GetPlatformStatsResponse(stats=mappers.platform_stats_message(stats))

    async def GetAdminMetrics(
        self, request: pb.GetAdminMetricsRequest, context: Context
    ) -> pb.GetAdminMetricsResponse:
        """Platform activity per day, for admins."""
        view = await reports.get_admin_metrics(
            GetAdminMetrics(request.from_date, request.to_date),
            self._uow(read_only=True),
            current_caller(),
        )
        return pb.GetAdminMetricsResponse(metrics=mappers.admin_metrics_message(view))
