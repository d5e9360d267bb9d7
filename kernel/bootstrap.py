"""Composition helpers shared by the services' `bootstrap()` functions and their CLIs."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from kernel.auth import (
    JwtAuthenticator,
    MemoryRevocationStore,
    RedisRevocationStore,
    RevocationStore,
    TokenVerifier,
    load_public_keys,
)
from kernel.consumers import DurableConsumer, DurableSubscription
from kernel.db import Database
from kernel.logs import configure_logging
from kernel.messaging import NatsClient, stream_config
from kernel.metrics import start_metrics_endpoint
from kernel.migrations import upgrade_to_head
from kernel.outbox import EventMapper, OutboxWriter
from kernel.redis_client import connect_redis
from kernel.relay import OutboxRelay
from kernel.revocation_feed import RevocationFeed
from kernel.settings import SERVICE_SCHEMAS, Settings, load_settings
from kernel.telemetry import configure_tracing

_log = logging.getLogger(__name__)
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


@dataclass
class Infrastructure:
    """The adapters every service process owns: database, NATS, outbox writer and relay."""

    name: str
    settings: Settings
    database: Database
    nats: NatsClient
    outbox: OutboxWriter
    relay: OutboxRelay
    revocations: RevocationStore
    authenticator: JwtAuthenticator
    redis: Any | None = None
    extra_background: list[Callable[[], Any]] = field(default_factory=list)
    extra_stop: list[Callable[[], Any]] = field(default_factory=list)

    @classmethod
    def create(
        cls, name: str, settings: Settings, *, outbox_table: sa.Table, event_mapper: EventMapper
    ) -> Infrastructure:
        """Build (without connecting) the adapters of service `name`."""
        database = Database(
            settings.database(name),
            schema=SERVICE_SCHEMAS[name],
            application_name=f"unpuzzle-{name}",
        )
        nats = NatsClient(settings.nats_url or DEFAULT_NATS_URL, name=f"unpuzzle-{name}")
        relay = OutboxRelay(
            service=name,
            database=database,
            table=outbox_table,
            nats=nats,
            batch_size=settings.outbox_batch_size,
            poll_interval=settings.outbox_poll_interval_seconds,
            retention=timedelta(hours=settings.outbox_retention_hours),
        )
        redis = None
        revocations: RevocationStore = MemoryRevocationStore()
        if settings.redis_url:
            redis = connect_redis(settings.redis_url, timeout_seconds=1.0)
            revocations = RedisRevocationStore(redis)
        verifier = TokenVerifier(
            load_public_keys(settings.public_keys_file),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
        return cls(
            name=name,
            settings=settings,
            database=database,
            nats=nats,
            outbox=OutboxWriter(outbox_table, producer=name, mapper=event_mapper),
            relay=relay,
            revocations=revocations,
            authenticator=JwtAuthenticator(verifier, revocations),
            redis=redis,
        )

    async def nats_ready(self) -> bool:
        """Readiness: NATS connected."""
        return self.nats.connected

    async def relay_loop(self) -> None:
        """Background job: connect NATS (streams included), then run the relay."""
        self.nats.start([stream_config(self.name, self.settings.nats_stream_replicas)])
        await self.relay.run()

    async def revocation_loop(self) -> None:
        """Background job: follow the user service's revocation events."""
        await RevocationFeed(self.revocations).subscriber(self.nats).run()

    def add_consumer(self, subscription: DurableSubscription) -> DurableConsumer:
        """Run a durable consumer in the background of this process."""
        consumer = DurableConsumer(self.nats, subscription)
        self.extra_background.append(consumer.run)
        self.extra_stop.append(consumer.stop)
        return consumer

    async def _close_redis(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()

    def runtime_kwargs(self) -> dict[str, Any]:
        """Arguments for ServiceRuntime shared by every service."""
        return {
            "name": self.name,
            "host": self.settings.listen_host,
            "port": self.settings.grpc_ports[self.name],
            "readiness_checks": {"database": self.database.ping, "nats": self.nats_ready},
            "background": [self.relay_loop, self.revocation_loop, *self.extra_background],
            "authenticator": self.authenticator,
            "on_stop": [
                self.relay.stop,
                *self.extra_stop,
                self.nats.close,
                self.database.dispose,
                self._close_redis,
            ],
            "drain_seconds": self.settings.shutdown_drain_seconds,
            "grace_seconds": self.settings.shutdown_grace_seconds,
        }


def service_main(
    name: str,
    *,
    migrations_dir: Path,
    build_runtime: Callable[[Settings], Any],
    extra_commands: Sequence[tuple[str, str, Callable[[Settings, argparse.Namespace], None]]] = (),
) -> None:
    """CLI of a service process: `serve` (default) or `migrate`, plus service-specific commands."""
    parser = argparse.ArgumentParser(prog=f"python -m services.{name}")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the gRPC server (default)")
    commands.add_parser("migrate", help="apply database migrations and exit")
    for command, help_text, _ in extra_commands:
        commands.add_parser(command, help=help_text)
    args = parser.parse_args()
    settings = load_settings()
    configure_logging(name, settings.log_level, settings.log_json)
    if args.command == "migrate":
        upgrade_to_head(migrations_dir, settings.database(name), SERVICE_SCHEMAS[name])
        _log.info("migrations applied")
        return
    for command, _, run in extra_commands:
        if args.command == command:
            run(settings, args)
            return
    configure_tracing(f"unpuzzle-{name}", settings.otel_endpoint)
    start_metrics_endpoint(settings.listen_host, settings.metrics_ports[name])
    _run(build_runtime(settings))


def _run(runtime: Any) -> None:
    try:
        import uvloop

        uvloop.run(runtime.serve_until_signalled())
    except ImportError:  # pragma: no cover - uvloop is a pinned dependency
        asyncio.run(runtime.serve_until_signalled())
