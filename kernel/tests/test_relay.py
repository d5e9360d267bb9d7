"""The outbox relay against a real database and a nats-server this test controls."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from google.protobuf.wrappers_pb2 import StringValue
from nats.js.api import DeliverPolicy
from prometheus_client import REGISTRY

from kernel.db import Database
from kernel.domain import Aggregate, DomainEvent, RaisedEvent
from kernel.messaging import NatsClient, stream_config
from kernel.outbox import EventPayload, OutboxWriter, define_outbox_tables
from kernel.relay import OutboxRelay
from tests.support import eventually

pytestmark = pytest.mark.integration
SERVICE = "relaytest"


@dataclass(frozen=True, kw_only=True)
class Renamed(DomainEvent):
    name: str


@dataclass(eq=False)
class Thing(Aggregate):
    aggregate_type = "thing"
    id: uuid.UUID
    version: int = 1


def _mapper(raised: RaisedEvent) -> EventPayload:
    assert isinstance(raised.event, Renamed)
    return EventPayload("thing.renamed", StringValue(value=raised.event.name))


@pytest.fixture
async def database(scratch_database):
    metadata = sa.MetaData()
    outbox, _ = define_outbox_tables(metadata)
    async with scratch_database(metadata, "relay") as database:
        yield database, outbox


async def _stage(database: Database, outbox: sa.Table, count: int) -> list[str]:
    writer = OutboxWriter(outbox, producer=SERVICE, mapper=_mapper)
    thing = Thing(id=uuid.uuid4())
    for index in range(count):
        thing.version += 1
        thing.record(Renamed(name=f"name-{index}"))
    raised = thing.pull_events()
    async with database.engine.begin() as connection:
        await writer.stage(connection, raised)
    return [str(r.event.event_id) for r in raised]


async def _stream_ids(nats: NatsClient) -> list[str]:
    subscription = await nats.js.subscribe(
        f"unpuzzle.{SERVICE}.>", deliver_policy=DeliverPolicy.ALL, ordered_consumer=True
    )
    ids = []
    while True:
        try:
            message = await subscription.next_msg(timeout=0.3)
        except TimeoutError:
            break
        ids.append((message.headers or {})["Nats-Msg-Id"])
    await subscription.unsubscribe()
    return ids


async def _unsent(database: Database, outbox: sa.Table) -> int:
    async with database.connect(read_only=True) as connection:
        count = await connection.scalar(
            sa.select(sa.func.count()).where(outbox.c.sent_at.is_(None))
        )
        return int(count or 0)


def _relay(database: Database, outbox: sa.Table, nats: NatsClient) -> OutboxRelay:
    return OutboxRelay(service=SERVICE, database=database, table=outbox, nats=nats, ack_timeout=1.0)


async def test_events_staged_while_nats_is_down_are_published_when_it_returns(
    database, nats_server
):
    database, outbox = database
    nats = NatsClient(nats_server.url, "relay-test")
    nats.start([stream_config(SERVICE)])
    await nats.wait_ready(10)
    relay = _relay(database, outbox, nats)
    try:
        nats_server.stop()
        await eventually(lambda: not nats.connected)
        ids = await _stage(database, outbox, 3)
        assert await relay.publish_pending() == 0
        assert await _unsent(database, outbox) == 3
        await relay.refresh_backlog_metrics()
        assert _gauge("unpuzzle_outbox_backlog") == 3
        assert _gauge("unpuzzle_outbox_oldest_unsent_age_seconds") >= 0
        nats_server.start()
        await eventually(lambda: nats.connected, timeout=10)
        assert await relay.publish_pending() == 3
        assert await _unsent(database, outbox) == 0
        assert await _stream_ids(nats) == ids  # every event, in commit order
        await relay.refresh_backlog_metrics()
        assert _gauge("unpuzzle_outbox_backlog") == 0
    finally:
        await nats.close()


def _gauge(name: str) -> float:
    value = REGISTRY.get_sample_value(name, {"service": SERVICE})
    assert value is not None, name
    return value


async def test_a_commit_wakes_the_relay_and_sent_rows_are_pruned(database, nats_server):
    database, outbox = database
    nats = NatsClient(nats_server.url, "relay-test")
    nats.start([stream_config(SERVICE)])
    await nats.wait_ready(10)
    # A poll interval far longer than the test: only the wake-up can publish in time.
    relay = OutboxRelay(
        service=SERVICE,
        database=database,
        table=outbox,
        nats=nats,
        poll_interval=60.0,
        retention=timedelta(0),
    )
    running = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.2)  # the first pass found nothing; the relay now sleeps
        await _stage(database, outbox, 2)
        relay.wake()
        await eventually(lambda: _unsent_is_zero(database, outbox), timeout=2)
        assert await relay.prune_sent() == 2  # retention 0: every sent row goes
        async with database.connect(read_only=True) as connection:
            assert await connection.scalar(sa.select(sa.func.count()).select_from(outbox)) == 0
    finally:
        relay.stop()
        await running
        await nats.close()


async def _unsent_is_zero(database: Database, outbox: sa.Table) -> bool:
    return await _unsent(database, outbox) == 0


async def test_relay_killed_between_publish_and_mark_does_not_duplicate(
    database, nats_server, monkeypatch
):
    database, outbox = database
    nats = NatsClient(nats_server.url, "relay-test")
    nats.start([stream_config(SERVICE)])
    await nats.wait_ready(10)
    relay = _relay(database, outbox, nats)
    try:
        ids = await _stage(database, outbox, 2)

        async def crash(*_args: object) -> None:
            raise RuntimeError("relay died before marking rows sent")

        monkeypatch.setattr(relay, "_mark", crash)
        with pytest.raises(RuntimeError):
            await relay.publish_pending()
        assert await _unsent(database, outbox) == 2  # nothing was marked
        monkeypatch.undo()
        assert await relay.publish_pending() == 2  # published again ...
        assert await _stream_ids(nats) == ids  # ... but JetStream kept each event once
    finally:
        await nats.close()
