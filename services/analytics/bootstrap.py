"""Composition root of the analytics service: settings in, a ready-to-start service out."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.bootstrap import Infrastructure
from kernel.grpc_server import ServiceRuntime
from kernel.settings import Settings
from services.analytics import mappers
from services.analytics.adapters import tables
from services.analytics.adapters.unit_of_work import SqlAnalyticsUnitOfWork
from services.analytics.domain.views import PlatformStats
from services.analytics.entrypoints.event_consumers import EventConsumers
from services.analytics.entrypoints.grpc_servicer import AnalyticsServicer
from services.analytics.service_layer.caching import TtlValue
from unpuzzle.analytics.v1 import analytics_service_pb2, analytics_service_pb2_grpc

SERVICE_FULL_NAME = analytics_service_pb2.DESCRIPTOR.services_by_name["AnalyticsService"].full_name
# GET /stats/platform is public and aggregates whole tables: computed at most this often.
PLATFORM_STATS_TTL_SECONDS = 5.0


@dataclass
class AnalyticsService:
    """The wired service: its adapters, its unit-of-work factory and its gRPC runtime."""

    infra: Infrastructure
    runtime: ServiceRuntime

    def uow(self, *, read_only: bool = False) -> SqlAnalyticsUnitOfWork:
        """A fresh Unit of Work (one per RPC or consumed event)."""
        return SqlAnalyticsUnitOfWork(
            self.infra.database,
            self.infra.outbox,
            read_only=read_only,
            on_commit=self.infra.relay.wake,
        )


def bootstrap(settings: Settings) -> AnalyticsService:
    """Wire the analytics service; nothing connects until the runtime starts."""
    infra = Infrastructure.create(
        "analytics", settings, outbox_table=tables.outbox, event_mapper=mappers.event_payload
    )
    service = AnalyticsService(infra=infra, runtime=None)  # type: ignore[arg-type]
    # Consumers bind once their producers have created the streams (start-up order is free).
    for subscription in EventConsumers(service.uow).subscriptions():
        infra.add_consumer(subscription)
    stats: TtlValue[PlatformStats] = TtlValue(PLATFORM_STATS_TTL_SECONDS)
    service.runtime = ServiceRuntime(
        servicers=[
            (
                analytics_service_pb2_grpc.add_AnalyticsServiceServicer_to_server,
                AnalyticsServicer(service.uow, stats),
            )
        ],
        service_full_names=[SERVICE_FULL_NAME],
        **infra.runtime_kwargs(),
    )
    return service
