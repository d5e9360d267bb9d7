"""A small closed-loop HTTP/1.1 load generator (keep-alive connections, one request in flight each).

Written on raw asyncio streams with uvloop so that it is not the bottleneck: `bench.run` measures
its ceiling against a trivial in-process server in the same run and reports it next to the
real figures.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    """What one load run measured."""

    name: str
    concurrency: int
    requests: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.elapsed if self.elapsed else 0.0

    def percentile(self, fraction: float) -> float:
        """Latency percentile in milliseconds."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
        return ordered[index] * 1000

    def summary(self) -> dict[str, object]:
        """JSON-ready figures."""
        return {
            "scenario": self.name,
            "concurrency": self.concurrency,
            "requests": self.requests,
            "errors": self.errors,
            "requests_per_second": round(self.rate, 1),
            "p50_ms": round(self.percentile(0.50), 3),
            "p99_ms": round(self.percentile(0.99), 3),
            "mean_ms": round(statistics.fmean(self.latencies) * 1000, 3) if self.latencies else 0.0,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


RequestFactory = Callable[[int], bytes]


def http_request(
    method: str, path: str, *, host: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    """Raw bytes of one HTTP/1.1 request."""
    lines = [f"{method} {path} HTTP/1.1", f"host: {host}", "connection: keep-alive"]
    for key, value in (headers or {}).items():
        lines.append(f"{key}: {value}")
    if body or method in {"POST", "PUT", "PATCH"}:
        lines.append("content-type: application/json")
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        lower = line.lower()
        if lower.startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
        elif lower.startswith(b"transfer-encoding:") and b"chunked" in lower:
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def run_load(
    name: str,
    host: str,
    port: int,
    make_request: RequestFactory,
    *,
    concurrency: int,
    duration: float,
    warmup: float = 0.5,
    max_requests: int = 200_000,
) -> LoadResult:
    """Closed loop: `concurrency` connections, each sending the next request when one returns.

    Bounded by `duration` seconds and `max_requests` (whichever comes first); the first
    `warmup` seconds are not recorded.
    """
    result = LoadResult(name, concurrency)
    loop = asyncio.get_running_loop()
    started = loop.time()
    record_from = started + warmup
    stop_at = record_from + duration
    counter = 0

    async def connection() -> None:
        nonlocal counter
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while loop.time() < stop_at and result.requests < max_requests:
                counter += 1
                payload = make_request(counter)
                sent = time.perf_counter()
                writer.write(payload)
                try:
                    status = await _read_response(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    result.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                if loop.time() >= record_from:
                    result.latencies.append(time.perf_counter() - sent)
                    result.requests += 1
                    result.statuses[status] = result.statuses.get(status, 0) + 1
                    if status >= 400:
                        result.errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    result.elapsed = max(1e-9, min(loop.time(), stop_at) - record_from)
    return result
