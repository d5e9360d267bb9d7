"""Composition root of the user service: settings in, a ready-to-start service out."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.bootstrap import Infrastructure
from kernel.grpc_server import ServiceRuntime
from kernel.settings import Settings
from services.user import mappers
from services.user.adapters import tables


@dataclass
class UserService:
    """The wired service: its adapters and its gRPC runtime."""

    infra: Infrastructure
    runtime: ServiceRuntime


def bootstrap(settings: Settings) -> UserService:
    """Wire the user service; nothing connects until the runtime starts."""
    infra = Infrastructure.create(
        "user", settings, outbox_table=tables.outbox, event_mapper=mappers.event_payload
    )
    runtime = ServiceRuntime(
        servicers=[],
        service_full_names=[],
        **infra.runtime_kwargs(),
    )
    return UserService(infra=infra, runtime=runtime)
