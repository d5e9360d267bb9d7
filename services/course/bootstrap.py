"""Composition root of the course service: settings in, a ready-to-start service out."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.bootstrap import Infrastructure
from kernel.cache import TwoLevelCache
from kernel.grpc_server import ServiceRuntime
from kernel.pagination import PageTokenCodec
from kernel.settings import Settings
from services.course import mappers
from services.course.adapters import tables
from services.course.adapters.cache import CourseCache
from services.course.adapters.unit_of_work import SqlCourseUnitOfWork
from services.course.entrypoints.course_views import CourseViews
from services.course.entrypoints.event_handlers import EventHandlers
from services.course.entrypoints.grpc_servicer import CourseServicer
from unpuzzle.course.v1 import course_service_pb2, course_service_pb2_grpc

SERVICE_FULL_NAME = course_service_pb2.DESCRIPTOR.services_by_name["CourseService"].full_name


@dataclass
class CourseService:
    """The wired service: its adapters, cache, cached views, event handlers and gRPC runtime."""

    infra: Infrastructure
    cache: CourseCache
    views: CourseViews
    events: EventHandlers
    runtime: ServiceRuntime

    def uow(self, *, read_only: bool = False) -> SqlCourseUnitOfWork:
        """A fresh Unit of Work (one per RPC or consumed event)."""
        return _unit_of_work(self.infra, self.cache, read_only=read_only)


def _unit_of_work(
    infra: Infrastructure, cache: CourseCache, *, read_only: bool = False
) -> SqlCourseUnitOfWork:
    return SqlCourseUnitOfWork(
        infra.database,
        infra.outbox,
        read_only=read_only,
        on_commit=infra.relay.wake,
        invalidate=cache.invalidate,
    )


def bootstrap(settings: Settings) -> CourseService:
    """Wire the course service; nothing connects until the runtime starts."""
    infra = Infrastructure.create(
        "course", settings, outbox_table=tables.outbox, event_mapper=mappers.event_payload
    )
    cache = CourseCache(TwoLevelCache(redis=infra.redis, nats=infra.nats))

    def uow(*, read_only: bool = False) -> SqlCourseUnitOfWork:
        return _unit_of_work(infra, cache, read_only=read_only)

    page_tokens = PageTokenCodec(settings.page_token_secret.encode())
    views = CourseViews(uow, cache, page_tokens)
    events = EventHandlers(uow)
    for subscription in events.subscriptions():
        infra.add_consumer(subscription)
    # Every replica listens for the others' cache invalidations, then warms its cache.
    infra.extra_background.extend([cache.backend.listen, views.warm_up])
    runtime = ServiceRuntime(
        servicers=[
            (
                course_service_pb2_grpc.add_CourseServiceServicer_to_server,
                CourseServicer(uow, views, page_tokens),
            )
        ],
        service_full_names=[SERVICE_FULL_NAME],
        **infra.runtime_kwargs(),
    )
    return CourseService(infra=infra, cache=cache, views=views, events=events, runtime=runtime)
