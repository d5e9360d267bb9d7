"""Prometheus metrics shared by every process, and the per-process /metrics endpoint."""

from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge, Histogram, start_http_server

_log = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

GRPC_REQUESTS = Counter(
    "unpuzzle_grpc_server_requests_total",
    "gRPC calls handled, by method and status code.",
    ["service", "method", "code"],
)
GRPC_LATENCY = Histogram(
    "unpuzzle_grpc_server_latency_seconds",
    "gRPC handler latency.",
    ["service", "method"],
    buckets=_LATENCY_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "unpuzzle_http_requests_total",
    "Gateway HTTP requests, by route and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "unpuzzle_http_request_latency_seconds",
    "Gateway HTTP latency, by route.",
    ["route", "method"],
    buckets=_LATENCY_BUCKETS,
)
OUTBOX_BACKLOG = Gauge("unpuzzle_outbox_backlog", "Outbox rows not yet published.", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "unpuzzle_outbox_oldest_unsent_age_seconds",
    "Age of the oldest unpublished outbox row (0 when empty).",
    ["service"],
)
OUTBOX_PUBLISHED = Counter(
    "unpuzzle_outbox_published_total", "Outbox rows published to JetStream.", ["service"]
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "unpuzzle_outbox_publish_failures_total",
    "Outbox publishes that were not acknowledged.",
    ["service"],
)
DB_POOL_CHECKED_OUT = Gauge(
    "unpuzzle_db_pool_checked_out", "Database connections in use.", ["service"]
)


def start_metrics_endpoint(host: str, port: int) -> None:
    """Serve /metrics for this process on its own port (a daemon thread)."""
    start_http_server(port, addr=host)
    _log.info("metrics endpoint up", extra={"url": f"http://{host}:{port}/metrics"})
