"""Horizontal scale on one machine: two course-service replicas behind the gateway; a write through
one is read fresh from both within a second; one killed under load, and no idempotent request is
lost."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.embedded_nats import free_port
from tests.e2e.stack import RunningSystem, launched

pytestmark = pytest.mark.e2e
REQUESTS = 400
CONCURRENCY = 8


def _free_pair() -> int:
    """A port p such that p and p + 100 are both free."""
    for _ in range(50):
        port = free_port()
        if port + 100 < 65535:
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port + 100))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port pair")


@pytest.fixture
def two_course_replicas(tmp_path: Path) -> Iterator[RunningSystem]:
    ports = {"COURSE_PORT": _free_pair(), "COURSE_METRICS_PORT": _free_pair()}
    env = {"COURSE_REPLICAS": "2", "RATE_LIMIT_ENABLED": "false"}
    with launched(tmp_path / "run", env=env, ports=ports) as running:
        yield running


def _get_course_calls(metrics_port: int) -> float:
    text = (
        urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
        .read()
        .decode()
    )
    pattern = re.compile(
        r'unpuzzle_grpc_server_requests_total\{[^}]*method="GetCourse"[^}]*\} ([0-9.e+]+)'
    )
    return sum(float(value) for value in pattern.findall(text))


def _write_is_read_fresh_from_both_replicas_within_a_second(
    client: httpx.Client, path: str, owner: dict[str, str], course: dict, metrics: int
) -> None:
    """Both replicas hold the course in their caches; a PATCH lands on one of them."""
    before = [_get_course_calls(metrics), _get_course_calls(metrics + 100)]
    renamed = client.patch(
        path,
        json={"title": "Replicated, renamed"},
        headers={**owner, "if-match": f'"{course["version"]}"'},
    )
    assert renamed.status_code == 200, renamed.text
    written = time.monotonic()
    while True:
        titles = [client.get(path, headers=owner).json()["data"]["title"] for _ in range(4)]
        if set(titles) == {"Replicated, renamed"}:
            break
        assert time.monotonic() - written < 1.0, f"stale reads after 1 s: {titles}"
    after = [_get_course_calls(metrics), _get_course_calls(metrics + 100)]
    assert all(a > b for a, b in zip(after, before, strict=True)), "a replica served no read"


async def _load(
    base_url: str, path: str, headers: dict[str, str], kill: asyncio.Event
) -> list[int]:
    statuses: list[int] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(REQUESTS):
        queue.put_nowait(index)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            index = queue.get_nowait()
            if index == REQUESTS // 3:
                kill.set()
            response = await client.get(path, headers=headers)
            statuses.append(response.status_code)

    async with httpx.AsyncClient(base_url=base_url, timeout=15) as client:
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
    return statuses


def test_killing_one_replica_under_load_loses_no_read(two_course_replicas: RunningSystem):
    system = two_course_replicas
    client = httpx.Client(base_url=system.base_url, timeout=10)
    system.wait_ready(client)
    owner = system.instructor_headers()
    course = client.post("/api/v1/courses", json={"title": "Replicated"}, headers=owner).json()[
        "data"
    ]
    path = f"/api/v1/courses/{course['id']}"
    for _ in range(20):  # warm both replicas up
        assert client.get(path, headers=owner).status_code == 200
    metrics = system.ports["COURSE_METRICS_PORT"]
    served = [_get_course_calls(metrics), _get_course_calls(metrics + 100)]
    assert all(count > 0 for count in served), f"round-robin did not reach both replicas: {served}"
    _write_is_read_fresh_from_both_replicas_within_a_second(client, path, owner, course, metrics)

    victim = system.state()["children"]["course-2"]
    kill = asyncio.Event()

    async def scenario() -> list[int]:
        async def killer() -> None:
            await kill.wait()
            os.kill(victim, signal.SIGKILL)

        killing = asyncio.create_task(killer())
        statuses = await _load(system.base_url, path, owner, kill)
        await killing
        return statuses

    started = time.monotonic()
    statuses = asyncio.run(scenario())
    assert len(statuses) == REQUESTS
    failures = [status for status in statuses if status != 200]
    assert failures == [], f"{len(failures)} of {REQUESTS} reads failed while a replica died"
    assert time.monotonic() - started < 60
