"""Durable consumers against a real database and a nats-server this test controls:
inbox idempotency, dead letters and replay, resume after restart, recovery after a NATS restart,
trace context from producer to consumer."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from google.protobuf.wrappers_pb2 import StringValue
from opentelemetry import trace
from sqlalchemy.ext.asyncio import AsyncConnection

from deploy.embedded_nats import EmbeddedNats
from kernel.consumers import ConsumedEvent, DurableConsumer, DurableSubscription
from kernel.db import Database
from kernel.dead_letters import list_dead_letters
from kernel.domain import Aggregate, DomainEvent, RaisedEvent
from kernel.messaging import NatsClient, stream_config
from kernel.outbox import EventPayload, OutboxWriter, define_outbox_tables
from kernel.relay import OutboxRelay
from kernel.uow import SqlUnitOfWork, TrackingRepository
from tests.support import eventually

pytestmark = pytest.mark.integration
SERVICE = "ctest"
STREAM = stream_config(SERVICE)

metadata = sa.MetaData()
outbox, inbox = define_outbox_tables(metadata)
effects = sa.Table(
    "effects",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("value", sa.String(100), nullable=False),
)


@dataclass(frozen=True, kw_only=True)
class Noted(DomainEvent):
    text: str


@dataclass(eq=False)
class Note(Aggregate):
    aggregate_type = "note"
    id: uuid.UUID
    version: int = 1


def _mapper(raised: RaisedEvent) -> EventPayload:
    assert isinstance(raised.event, Noted)
    return EventPayload("note.noted", StringValue(value=raised.event.text))


class EffectsUnitOfWork(SqlUnitOfWork):
    def _create_repositories(self, connection: AsyncConnection) -> None:
        self.notes = TrackingRepository()

    def repositories(self) -> list[TrackingRepository]:
        return [self.notes]


@pytest.fixture
async def database(scratch_database):
    async with scratch_database(metadata, "ctest") as database:
        yield database


@pytest.fixture
async def nats_client(nats_server: EmbeddedNats) -> AsyncIterator[NatsClient]:
    client = NatsClient(nats_server.url, "consumer-test")
    client.start([STREAM])
    await client.wait_ready(10)
    yield client
    await client.close()


def _writer() -> OutboxWriter:
    return OutboxWriter(outbox, producer=SERVICE, mapper=_mapper)


async def _stage(database: Database, *texts: str, note: Note | None = None) -> list[str]:
    """Stage events in the outbox (as a use case's commit would); returns their ids."""
    note = note or Note(id=uuid.uuid4())
    for text in texts:
        note.record(Noted(text=text))
    raised = note.pull_events()
    async with database.engine.begin() as connection:
        await _writer().stage(connection, raised)
    return [str(item.event.event_id) for item in raised]


async def _relay(database: Database, nats_client: NatsClient, expected: int) -> None:
    relay = OutboxRelay(service=SERVICE, database=database, table=outbox, nats=nats_client)
    assert await relay.publish_pending() == expected


async def _publish(database: Database, nats_client: NatsClient, *texts: str) -> list[str]:
    """Stage events through the outbox and let the relay publish them."""
    ids = await _stage(database, *texts)
    await _relay(database, nats_client, len(texts))
    return ids


def _effect_handler(
    database: Database,
    consumer: str,
    *,
    after_commit: Callable[[ConsumedEvent], None] | None = None,
) -> Callable[[ConsumedEvent], Awaitable[None]]:
    async def handle(event: ConsumedEvent) -> None:
        payload = StringValue()
        event.envelope.payload.Unpack(payload)
        async with EffectsUnitOfWork(database, _writer()) as uow:
            if not await uow.claim_event(consumer, event.envelope.id, event.event_type):
                return
            await uow.connection.execute(
                sa.insert(effects).values(event_id=event.envelope.id, value=payload.value)
            )
            await uow.commit()
        if after_commit is not None:
            after_commit(event)

    return handle


async def _effect_values(database: Database) -> list[str]:
    async with database.connect(read_only=True) as connection:
        rows = await connection.execute(sa.select(effects.c.value).order_by(effects.c.id))
        return list(rows.scalars())


def _subscription(
    name: str, handler: Callable[[ConsumedEvent], Awaitable[None]], **kwargs: object
) -> DurableSubscription:
    return DurableSubscription(
        name=name,
        stream=STREAM.name or "",
        subjects=(f"unpuzzle.{SERVICE}.>",),
        handler=handler,
        backoff=(0.05, 0.05, 0.05),
        **kwargs,  # type: ignore[arg-type]
    )


async def _running(consumer: DurableConsumer) -> asyncio.Task[None]:
    return asyncio.create_task(consumer.run())


async def _stop(consumer: DurableConsumer, task: asyncio.Task[None]) -> None:
    consumer.stop()
    task.cancel()
    # The loop may notice stop() and return before the cancellation lands: both are a clean end.
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert task.done()


async def test_crash_after_commit_before_ack_changes_nothing(database, nats_client):
    deliveries: list[str] = []

    def crash_once(event: ConsumedEvent) -> None:
        deliveries.append(event.envelope.id)
        if len(deliveries) == 1:
            raise RuntimeError("process died after commit, before ack")

    name = f"crash-{uuid.uuid4().hex[:6]}"
    effect = _effect_handler(database, name, after_commit=crash_once)
    attempts: list[str] = []

    async def handler(event: ConsumedEvent) -> None:
        attempts.append(event.envelope.id)
        await effect(event)

    consumer = DurableConsumer(nats_client, _subscription(name, handler), heartbeat=0.5)
    task = await _running(consumer)
    [event_id] = await _publish(database, nats_client, "once")
    await eventually(lambda: len(attempts) >= 2, timeout=10)  # the unacked event came back
    await _stop(consumer, task)
    assert attempts[:2] == [event_id, event_id]
    assert deliveries == [event_id]  # the redelivery returned early: the inbox knew it
    assert await _effect_values(database) == ["once"]


async def test_poison_event_is_dead_lettered_while_others_flow_and_replay_works(
    database, nats_client
):
    broken = {"poison"}
    name = f"poison-{uuid.uuid4().hex[:6]}"
    effect = _effect_handler(database, name)

    async def handler(event: ConsumedEvent) -> None:
        payload = StringValue()
        event.envelope.payload.Unpack(payload)
        if payload.value in broken:
            raise ValueError("cannot handle this one")
        await effect(event)

    consumer = DurableConsumer(
        nats_client, _subscription(name, handler, max_deliver=3), heartbeat=0.5
    )
    task = await _running(consumer)
    await _publish(database, nats_client, "poison", "healthy")
    await eventually(lambda: _effect_values(database), timeout=10)
    letters = await eventually(lambda: list_dead_letters(nats_client.js, name), timeout=10)
    assert [letter.deliveries for letter in letters] == [3]
    assert "cannot handle this one" in letters[0].error
    assert await _effect_values(database) == ["healthy"]

    listed = await _dead_letters_command(nats_client, "list", "--consumer", name)
    assert "deliveries=3" in listed
    assert "1 dead letter(s)" in listed

    broken.clear()  # the bug is fixed; replay the dead letter with the operator's command
    replayed = await _dead_letters_command(nats_client, "replay", "--consumer", name)
    assert "replayed 1 dead letter(s)" in replayed
    await eventually(lambda: _has(database, "poison"), timeout=10)
    assert await list_dead_letters(nats_client.js, name) == []
    await _stop(consumer, task)


async def _dead_letters_command(nats_client: NatsClient, *args: str) -> str:
    """`python -m kernel.dead_letters ...` against the test's NATS; its output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kernel.dead_letters",
        *args,
        "--nats-url",
        nats_client.url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    return output.decode()


async def _has(database: Database, value: str) -> bool:
    return value in await _effect_values(database)


async def test_nats_down_for_ten_seconds_while_writes_continue_loses_nothing(
    database, nats_server, nats_client
):
    name = f"outage-{uuid.uuid4().hex[:6]}"
    consumer = DurableConsumer(
        nats_client, _subscription(name, _effect_handler(database, name)), heartbeat=1.0
    )
    consuming = await _running(consumer)
    relay = OutboxRelay(
        service=SERVICE, database=database, table=outbox, nats=nats_client, poll_interval=0.2
    )
    relaying = asyncio.create_task(relay.run())
    notes = [Note(id=uuid.uuid4()) for _ in range(3)]
    rounds = 11
    try:
        for note in notes:
            await _stage(database, f"{note.id}:0", note=note)
        await eventually(lambda: _count_is(database, len(notes)), timeout=10)

        nats_server.stop()
        for round_ in range(1, rounds):  # ten seconds of writes with NATS down
            for note in notes:
                await _stage(database, f"{note.id}:{round_}", note=note)
            await asyncio.sleep(1.0)
        nats_server.start()

        await eventually(lambda: _count_is(database, len(notes) * rounds), timeout=30)
        values = await _effect_values(database)
        for note in notes:  # each aggregate's events arrived once, in the order they happened
            mine = [v.split(":")[1] for v in values if v.startswith(f"{note.id}:")]
            assert mine == [str(round_) for round_ in range(rounds)]
    finally:
        relay.stop()
        await relaying
        await _stop(consumer, consuming)


async def _count_is(database: Database, expected: int) -> bool:
    return len(await _effect_values(database)) == expected


async def test_restarted_consumer_resumes_from_its_last_ack(database, nats_client):
    name = f"resume-{uuid.uuid4().hex[:6]}"
    seen: list[str] = []

    async def handler(event: ConsumedEvent) -> None:
        payload = StringValue()
        event.envelope.payload.Unpack(payload)
        seen.append(payload.value)

    first = DurableConsumer(nats_client, _subscription(name, handler), heartbeat=0.5)
    task = await _running(first)
    await _publish(database, nats_client, "a", "b")
    await eventually(lambda: len(seen) == 2, timeout=10)
    await _stop(first, task)
    await _publish(database, nats_client, "c")
    second = DurableConsumer(nats_client, _subscription(name, handler), heartbeat=0.5)
    task = await _running(second)
    await eventually(lambda: len(seen) == 3, timeout=10)
    await asyncio.sleep(0.3)
    await _stop(second, task)
    assert seen == ["a", "b", "c"]


async def test_consumer_recovers_quickly_after_a_nats_restart(database, nats_server, nats_client):
    name = f"restart-{uuid.uuid4().hex[:6]}"
    seen: list[str] = []

    async def handler(event: ConsumedEvent) -> None:
        payload = StringValue()
        event.envelope.payload.Unpack(payload)
        seen.append(payload.value)

    heartbeat = 1.0
    consumer = DurableConsumer(nats_client, _subscription(name, handler), heartbeat=heartbeat)
    task = await _running(consumer)
    await _publish(database, nats_client, "before")
    await eventually(lambda: seen == ["before"], timeout=10)

    nats_server.stop()
    await eventually(lambda: not nats_client.connected, timeout=5)
    nats_server.start()
    await eventually(lambda: nats_client.connected, timeout=10)
    await _publish(database, nats_client, "after")
    published = time.monotonic()
    await eventually(lambda: seen == ["before", "after"], timeout=10)
    assert time.monotonic() - published <= heartbeat * 2 + 0.5
    await _stop(consumer, task)


async def test_consumer_span_continues_the_producer_trace(database, nats_client, span_exporter):
    name = f"trace-{uuid.uuid4().hex[:6]}"
    handled = asyncio.Event()

    async def handler(event: ConsumedEvent) -> None:
        handled.set()

    consumer = DurableConsumer(nats_client, _subscription(name, handler), heartbeat=0.5)
    task = await _running(consumer)
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("producer request") as producer:
        producer_trace = producer.get_span_context().trace_id
        await _stage(database, "traced")
    # The relay runs later, in no span: the trace context must come from the staged row.
    await _relay(database, nats_client, 1)
    await asyncio.wait_for(handled.wait(), 10)
    await _stop(consumer, task)
    consumer_spans = [
        s for s in span_exporter.get_finished_spans() if s.name.startswith("consume ")
    ]
    assert consumer_spans, "no consumer span was recorded"
    assert consumer_spans[-1].context.trace_id == producer_trace


async def test_relay_and_consumer_on_the_configured_nats_server(database, nats_url):
    """The machine's NATS (NATS_URL in CI): a stream of our own, published and consumed once."""
    service = f"smoke{uuid.uuid4().hex[:8]}"
    config = stream_config(service)
    client = NatsClient(nats_url, "consumer-smoke")
    client.start([config])
    await client.wait_ready(10)
    received: list[str] = []

    async def handler(event: ConsumedEvent) -> None:
        received.append(event.envelope.id)

    consumer = DurableConsumer(
        client,
        DurableSubscription(
            name=f"{service}-smoke",
            stream=config.name or "",
            subjects=(f"unpuzzle.{service}.>",),
            handler=handler,
        ),
        heartbeat=0.5,
    )
    task = await _running(consumer)
    try:
        note = Note(id=uuid.uuid4())
        note.record(Noted(text="hello"))
        raised = note.pull_events()
        async with database.engine.begin() as connection:
            await OutboxWriter(outbox, producer=service, mapper=_mapper).stage(connection, raised)
        relay = OutboxRelay(service=service, database=database, table=outbox, nats=client)
        assert await relay.publish_pending() == 1
        await eventually(lambda: received == [str(raised[0].event.event_id)], timeout=10)
    finally:
        await _stop(consumer, task)
        await client.js.delete_stream(config.name or "")
        await client.close()
