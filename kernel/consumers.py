"""Consuming domain events from JetStream.

`DurableConsumer`: a durable pull consumer shared by a service's replicas (each event handled by
one of them). The handler runs its effect and records the event id in the service's inbox table in
one transaction (`uow.claim_event`), so a redelivery changes nothing; the message is acked only
after that commit. Failures are redelivered with back-off (`nak(delay)`); after the last attempt
the message goes to the dead-letter subject `unpuzzle.dlq.<consumer>` and is terminated.
A watchdog re-creates the pull subscription when it goes silent (nats-py can keep a dead
subscription after a server restart): when the consumer disappeared, and when the server says
messages are pending but fetches keep coming back empty. A plain reconnect keeps the subscription:
pull requests sent during the outage are answered into its buffer, which the next fetch drains.

`ReplayingSubscriber`: every process gets every event of some subjects, replayed from a moment in
the past at start-up (revocations, cache invalidation): an ordered, ephemeral push consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import nats.errors
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from prometheus_client import Counter, Gauge

from kernel.messaging import NatsClient, ensure_stream
from unpuzzle.common.v1 import events_pb2

_log = logging.getLogger(__name__)
_tracer = trace.get_tracer("unpuzzle.consumers")

DLQ_STREAM = "UNPUZZLE_DLQ"
DLQ_SUBJECT_PREFIX = "unpuzzle.dlq"
HEADER_ORIGINAL_SUBJECT = "Unpuzzle-Original-Subject"
HEADER_CONSUMER = "Unpuzzle-Consumer"
HEADER_ERROR = "Unpuzzle-Error"
HEADER_DELIVERIES = "Unpuzzle-Deliveries"

EVENTS_HANDLED = Counter(
    "unpuzzle_events_handled_total",
    "Events handled by durable consumers, by outcome (ok, retry, dead_letter).",
    ["consumer", "outcome"],
)
CONSUMER_LAG = Gauge(
    "unpuzzle_consumer_pending", "Messages waiting for a durable consumer.", ["consumer"]
)
SUBSCRIPTION_RESETS = Counter(
    "unpuzzle_consumer_resubscribes_total",
    "Pull subscriptions re-created after going silent.",
    ["consumer"],
)


def dlq_stream_config() -> StreamConfig:
    """The stream keeping dead letters of every consumer (30 days)."""
    return StreamConfig(
        name=DLQ_STREAM,
        subjects=[f"{DLQ_SUBJECT_PREFIX}.>"],
        storage=StorageType.FILE,
        duplicate_window=120.0,
        max_age=30 * 24 * 3600.0,
    )


@dataclass(frozen=True)
class ConsumedEvent:
    """An event as a handler receives it."""

    envelope: events_pb2.EventEnvelope
    subject: str
    delivery: int

    @property
    def event_type(self) -> str:
        """Event type such as "course.created"."""
        return self.envelope.type


EventHandler = Callable[[ConsumedEvent], Awaitable[None]]


@dataclass(frozen=True)
class DurableSubscription:
    """What a durable consumer listens to and who handles it."""

    name: str  # durable name, unique per service and purpose: "course-instructor-replica"
    stream: str  # stream of the producing service: "UNPUZZLE_USER"
    subjects: tuple[str, ...]
    handler: EventHandler
    max_deliver: int = 5
    backoff: tuple[float, ...] = (0.5, 2.0, 5.0, 15.0)
    ack_wait: float = 30.0


def _start_span(message: Msg, name: str) -> contextlib.AbstractContextManager[trace.Span]:
    """A consumer span continuing the producer's trace (W3C traceparent in the headers)."""
    context = propagate.extract(dict(message.headers or {}))
    return _tracer.start_as_current_span(
        name, context=context, kind=SpanKind.CONSUMER, attributes={"messaging.system": "nats"}
    )


class DurableConsumer:
    """Runs one durable pull consumer until stopped."""

    def __init__(
        self,
        nats_client: NatsClient,
        subscription: DurableSubscription,
        *,
        batch_size: int = 64,
        heartbeat: float = 2.0,
    ) -> None:
        self._nats = nats_client
        self.subscription = subscription
        self._batch_size = batch_size
        self._heartbeat = heartbeat
        self._stopping = False
        self._pull: object | None = None
        self.last_activity = time.monotonic()

    def stop(self) -> None:
        """Finish after the batch in hand."""
        self._stopping = True

    def _config(self) -> ConsumerConfig:
        spec = self.subscription
        return ConsumerConfig(
            durable_name=spec.name,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_deliver=spec.max_deliver,
            ack_wait=spec.ack_wait,
            filter_subjects=list(spec.subjects),
            max_ack_pending=1000,
        )

    async def _subscribe(self) -> None:
        js = self._nats.js
        spec = self.subscription
        await ensure_stream(js, dlq_stream_config())
        try:
            await js.add_consumer(spec.stream, self._config())
        except nats.js.errors.APIError as error:
            # An existing consumer with another configuration keeps its position; say so loudly.
            _log.warning("could not create or update consumer %s: %s", spec.name, error)
        self._pull = await js.pull_subscribe_bind(durable=spec.name, stream=spec.stream)

    async def _resubscribe(self, why: str) -> None:
        SUBSCRIPTION_RESETS.labels(self.subscription.name).inc()
        _log.warning(
            "re-creating pull subscription", extra={"consumer": self.subscription.name, "why": why}
        )
        if self._pull is not None:
            with contextlib.suppress(Exception):
                await self._pull.unsubscribe()  # type: ignore[attr-defined]
        self._pull = None
        await self._subscribe()

    async def run(self) -> None:
        """Fetch and handle until `stop()` or cancellation; survives NATS restarts."""
        await self._nats.wait_ready()
        try:
            await self._loop()
        finally:
            # An abandoned pull subscription would keep receiving (and never acking) messages
            # until their ack wait expires: give them back now.
            if self._pull is not None:
                with contextlib.suppress(Exception):
                    await self._pull.unsubscribe()  # type: ignore[attr-defined]
                self._pull = None

    async def _loop(self) -> None:
        empty_fetches = 0
        while not self._stopping:
            try:
                if self._pull is None:
                    await self._subscribe()
                messages = await self._pull.fetch(  # type: ignore[union-attr]
                    self._batch_size, timeout=self._heartbeat
                )
            except (nats.errors.TimeoutError, TimeoutError):
                empty_fetches += 1
                self.last_activity = time.monotonic()
                if empty_fetches >= 2:
                    await self._check_silent()
                    empty_fetches = 0
                continue
            except asyncio.CancelledError:
                raise
            except Exception as error:  # NATS down, consumer gone: retry shortly
                _log.warning("fetch failed: %s", error, extra={"consumer": self.subscription.name})
                self._pull = None
                await asyncio.sleep(min(self._heartbeat, 1.0))
                continue
            empty_fetches = 0
            self.last_activity = time.monotonic()
            for message in messages:
                await self._handle(message)

    async def _check_silent(self) -> None:
        """Empty fetches while the server holds pending messages: the subscription is dead."""
        if self._pull is None or not self._nats.connected:
            return
        try:
            info = await self._pull.consumer_info()  # type: ignore[attr-defined]
        except NotFoundError:
            await self._resubscribe("consumer disappeared")
            return
        except Exception:  # the next fetch will tell
            return
        CONSUMER_LAG.labels(self.subscription.name).set(info.num_pending or 0)
        if (info.num_pending or 0) > 0:
            await self._resubscribe("pending messages but nothing delivered")

    async def _handle(self, message: Msg) -> None:
        spec = self.subscription
        delivery = message.metadata.num_delivered or 1
        with _start_span(message, f"consume {message.subject}") as span:
            try:
                envelope = events_pb2.EventEnvelope.FromString(message.data)
                span.set_attribute("messaging.message.id", envelope.id)
                await spec.handler(ConsumedEvent(envelope, message.subject, delivery))
            except Exception as error:  # any failure is retried or dead-lettered
                await self._failed(message, delivery, error)
                return
        await message.ack()
        EVENTS_HANDLED.labels(spec.name, "ok").inc()

    async def _failed(self, message: Msg, delivery: int, error: Exception) -> None:
        spec = self.subscription
        if delivery < spec.max_deliver:
            delay = spec.backoff[min(delivery, len(spec.backoff)) - 1] if spec.backoff else 1.0
            _log.warning(
                "event handler failed; will retry",
                extra={
                    "consumer": spec.name,
                    "subject": message.subject,
                    "delivery": delivery,
                    "error": repr(error),
                },
            )
            await message.nak(delay=delay)
            EVENTS_HANDLED.labels(spec.name, "retry").inc()
            return
        _log.error(
            "event handler failed for the last time; dead-lettering",
            extra={"consumer": spec.name, "subject": message.subject, "error": repr(error)},
        )
        headers = dict(message.headers or {})
        headers.update(
            {
                HEADER_ORIGINAL_SUBJECT: message.subject,
                HEADER_CONSUMER: spec.name,
                HEADER_ERROR: repr(error)[:500],
                HEADER_DELIVERIES: str(delivery),
                "Nats-Msg-Id": f"dlq:{spec.name}:{headers.get('Nats-Msg-Id', message.reply)}",
            }
        )
        try:
            await self._nats.js.publish(
                f"{DLQ_SUBJECT_PREFIX}.{spec.name}", message.data, headers=headers
            )
        except Exception:  # keep the message; it will come back
            await message.nak(delay=spec.backoff[-1] if spec.backoff else 5.0)
            return
        await message.term()
        EVENTS_HANDLED.labels(spec.name, "dead_letter").inc()


class ReplayingSubscriber:
    """Every process receives every event on `subject`, replayed from `lookback` ago at start."""

    def __init__(
        self,
        nats_client: NatsClient,
        *,
        subject: str,
        handler: EventHandler,
        lookback: timedelta,
    ) -> None:
        self._nats = nats_client
        self._subject = subject
        self._handler = handler
        self._lookback = lookback
        self._subscription: object | None = None

    async def run(self) -> None:
        """Subscribe (retrying until the producer has created its stream), then deliver."""
        await self._nats.wait_ready()
        while self._subscription is None:
            try:
                self._subscription = await self._nats.js.subscribe(
                    self._subject,
                    cb=self._on_message,
                    ordered_consumer=True,
                    config=ConsumerConfig(
                        deliver_policy=DeliverPolicy.BY_START_TIME,
                        opt_start_time=datetime.now(UTC) - self._lookback,
                    ),
                )
            except Exception as error:  # retry until NATS and the stream are there
                _log.warning("subscription to %s failed: %s", self._subject, error)
                await asyncio.sleep(1.0)
        try:
            await asyncio.Event().wait()
        finally:
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()  # type: ignore[attr-defined]

    async def _on_message(self, message: Msg) -> None:
        with _start_span(message, f"receive {message.subject}"):
            try:
                envelope = events_pb2.EventEnvelope.FromString(message.data)
                await self._handler(ConsumedEvent(envelope, message.subject, 1))
            except Exception:
                _log.exception("broadcast handler failed", extra={"subject": message.subject})
