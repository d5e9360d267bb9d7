"""Composition root of the course service: settings in, a ready-to-start service out."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.bootstrap import Infrastructure
from kernel.grpc_server import ServiceRuntime
from kernel.settings import Settings
from services.course import mappers
from services.course.adapters import tables
from services.course.adapters.unit_of_work import SqlCourseUnitOfWork
from services.course.entrypoints.grpc_servicer import CourseServicer
from unpuzzle.course.v1 import course_service_pb2, course_service_pb2_grpc

SERVICE_FULL_NAME = course_service_pb2.DESCRIPTOR.services_by_name["CourseService"].full_name


@dataclass
class CourseService:
    """The wired service: its adapters, its unit-of-work factory and its gRPC runtime."""

    infra: Infrastructure
    runtime: ServiceRuntime

    def uow(self, *, read_only: bool = False) -> SqlCourseUnitOfWork:
        """A fresh Unit of Work (one per RPC or consumed event)."""
        return SqlCourseUnitOfWork(
            self.infra.database,
            self.infra.outbox,
            read_only=read_only,
            on_commit=self.infra.relay.wake,
        )


def bootstrap(settings: Settings) -> CourseService:
    """Wire the course service; nothing connects until the runtime starts."""
    infra = Infrastructure.create(
        "course", settings, outbox_table=tables.outbox, event_mapper=mappers.event_payload
    )
    service = CourseService(infra=infra, runtime=None)  # type: ignore[arg-type]
    service.runtime = ServiceRuntime(
        servicers=[
            (
                course_service_pb2_grpc.add_CourseServiceServicer_to_server,
                CourseServicer(service.uow),
            )
        ],
        service_full_names=[SERVICE_FULL_NAME],
        **infra.runtime_kwargs(),
    )
    return service
