"""Composition root of the user service: settings in, a ready-to-start service out."""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel.bootstrap import Infrastructure
from kernel.grpc_server import ServiceRuntime
from kernel.pagination import PageTokenCodec
from kernel.settings import Settings
from services.user import mappers
from services.user.adapters import tables
from services.user.adapters.notifications import LoggingResetNotifier
from services.user.adapters.passwords import (
    OWASP_MINIMUM,
    Argon2Parameters,
    Argon2PasswordHasher,
    load_common_passwords,
)
from services.user.adapters.repository import RoleCatalogueMemo
from services.user.adapters.tokens import JwtIssuer, load_jwks
from services.user.adapters.unit_of_work import SqlUserUnitOfWork
from services.user.domain.passwords import PasswordPolicy
from services.user.domain.throttling import LoginLimits
from services.user.entrypoints.event_handlers import TeachingEvents
from services.user.entrypoints.grpc_servicer import AdminServicer, AuthServicer, UserServicer
from services.user.entrypoints.startup import StartupJob
from services.user.service_layer.ports import Dependencies
from unpuzzle.user.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    auth_service_pb2,
    auth_service_pb2_grpc,
    user_service_pb2,
    user_service_pb2_grpc,
)

SERVICE_FULL_NAMES = [
    auth_service_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name,
    user_service_pb2.DESCRIPTOR.services_by_name["UserService"].full_name,
    admin_service_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name,
]


@dataclass
class UserService:
    """The wired service: its adapters, its use-case dependencies and its gRPC runtime."""

    infra: Infrastructure
    runtime: ServiceRuntime
    deps: Dependencies
    hasher: Argon2PasswordHasher
    role_catalogue: RoleCatalogueMemo = field(default_factory=RoleCatalogueMemo)

    def uow(self, *, read_only: bool = False) -> SqlUserUnitOfWork:
        """A fresh Unit of Work (one per RPC)."""
        return SqlUserUnitOfWork(
            self.infra.database,
            self.infra.outbox,
            read_only=read_only,
            on_commit=self.infra.relay.wake,
            role_catalogue=self.role_catalogue,
        )


def bootstrap(
    settings: Settings,
    *,
    argon2: Argon2Parameters = OWASP_MINIMUM,
    login_limits: LoginLimits | None = None,
) -> UserService:
    """Wire the user service; nothing connects until the runtime starts.

    `argon2` and `login_limits` exist for tests; production uses the defaults.
    """
    infra = Infrastructure.create(
        "user", settings, outbox_table=tables.outbox, event_mapper=mappers.event_payload
    )
    hasher = Argon2PasswordHasher(argon2)
    deps = Dependencies(
        passwords=hasher,
        policy=PasswordPolicy(load_common_passwords()),
        tokens=JwtIssuer.from_settings(settings),
        notifier=LoggingResetNotifier(reveal_tokens=settings.environment == "development"),
        revocations=infra.revocations,
        pages=PageTokenCodec(settings.page_token_secret.encode()),
        limits=login_limits or LoginLimits(),
    )
    service = UserService(infra=infra, runtime=None, deps=deps, hasher=hasher)  # type: ignore[arg-type]
    infra.add_consumer(TeachingEvents(service.uow).subscription())
    startup = StartupJob(settings, service.uow, deps, hasher)
    infra.extra_background.append(startup.run)
    infra.extra_stop.append(hasher.close)
    runtime_kwargs = infra.runtime_kwargs()
    runtime_kwargs["readiness_checks"] = {
        **runtime_kwargs["readiness_checks"],
        "startup": startup.done,
    }
    service.runtime = ServiceRuntime(
        servicers=[
            (
                auth_service_pb2_grpc.add_AuthServiceServicer_to_server,
                AuthServicer(service.uow, deps, load_jwks(settings.public_keys_file)),
            ),
            (
                user_service_pb2_grpc.add_UserServiceServicer_to_server,
                UserServicer(service.uow, deps),
            ),
            (
                admin_service_pb2_grpc.add_AdminServiceServicer_to_server,
                AdminServicer(service.uow, deps),
            ),
        ],
        service_full_names=SERVICE_FULL_NAMES,
        **runtime_kwargs,
    )
    return service
