"""Composition root of the analytics service: settings in, a ready-to-start service out."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.bootstrap import Infrastructure
from kernel.grpc_server import ServiceRuntime
from kernel.settings import Settings
from services.analytics import mappers
from services.analytics.adapters import tables


@dataclass
class AnalyticsService:
    """The wired service: its adapters and its gRPC runtime."""

    infra: Infrastructure
    runtime: ServiceRuntime


def bootstrap(settings: Settings) -> AnalyticsService:
    """Wire the analytics service; nothing connects until the runtime starts."""
    infra = Infrastructure.create(
        "analytics", settings, outbox_table=tables.outbox, event_mapper=mappers.event_payload
    )
    runtime = ServiceRuntime(
        servicers=[],
        service_full_names=[],
        **infra.runtime_kwargs(),
    )
    return AnalyticsService(infra=infra, runtime=runtime)
