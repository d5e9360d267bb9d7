"""`make run` end to end: the launcher starts everything, the REST API works, events flow,
SIGTERM stops every process within 5 s and leaves no orphans."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.js.api import DeliverPolicy

from tests.e2e.stack import RunningSystem, launched
from tests.support import channel_to, eventually
from unpuzzle.common.v1 import events_pb2

pytestmark = pytest.mark.e2e
BACKEND_DEADLINE_SECONDS = 2


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; it only waits for its parent to collect it.
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


@pytest.fixture
def system(tmp_path: Path) -> Iterator[RunningSystem]:
    env = {"BACKEND_DEADLINE_SECONDS": str(BACKEND_DEADLINE_SECONDS)}
    with launched(tmp_path / "run", env=env, postgres=True) as running:
        yield running


async def _events_for(nats_url: str, aggregate_id: str) -> list[events_pb2.EventEnvelope]:
    connection = await nats.connect(nats_url)
    try:
        subscription = await connection.jetstream().subscribe(
            "unpuzzle.course.>", deliver_policy=DeliverPolicy.ALL, ordered_consumer=True
        )
        found = []
        while True:
            try:
                message = await subscription.next_msg(timeout=0.5)
            except TimeoutError:
                break
            envelope = events_pb2.EventEnvelope.FromString(message.data)
            if envelope.aggregate_id == aggregate_id:
                found.append(envelope)
        return found
    finally:
        await connection.close()


async def _health(port: int) -> int:
    async with channel_to(port) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=1
        )
        return int(reply.status)


def test_make_run_serves_the_api_and_stops_cleanly(system: RunningSystem):
    client = httpx.Client(base_url=system.base_url, timeout=10)
    system.wait_ready(client)
    # The demo catalogue is seeded through the API with the default rate limits in force.
    demo = system.wait_for_demo_catalogue(client)  # the public list: published courses only
    assert all(course["instructor"]["displayName"] for course in demo), "unnamed instructors"
    # course events -> the user service's teaching replica -> instructor stats on the profile.
    teachers = {course["instructor"]["id"] for course in demo}
    deadline = time.monotonic() + 10
    while True:
        stats = [
            client.get(f"/api/v1/users/{teacher}/profile").json()["data"]["instructorStats"]
            for teacher in teachers
        ]
        if sum(s["publishedCourses"] for s in stats) == len(demo):
            break
        assert time.monotonic() < deadline, f"instructor stats incomplete: {stats}"
        time.sleep(0.2)

    owner = system.instructor_headers()
    created = client.post(
        "/api/v1/courses", json={"title": "End to end", "price": "0"}, headers=owner
    )
    assert created.status_code == 201, created.text
    course = created.json()["data"]
    fetched = client.get(f"/api/v1/courses/{course['id']}", headers=owner)
    assert fetched.status_code == 200
    assert fetched.json()["data"] == course

    state = system.state()
    events = asyncio.run(
        eventually(lambda: _events_for(state["natsUrl"], course["id"]), timeout=10)
    )
    assert [e.type for e in events] == ["course.created"]  # exactly once

    # A hung backend (stopped, not dead: connections stay open) is a 504 within the deadline.
    course_pid = state["children"]["course"]
    os.kill(course_pid, signal.SIGSTOP)
    try:
        sent = time.monotonic()
        hung = client.post("/api/v1/courses", json={"title": "Hung"}, headers=owner)
        waited = time.monotonic() - sent
    finally:
        os.kill(course_pid, signal.SIGCONT)
    assert hung.status_code == 504, hung.text
    assert hung.json()["error"]["code"] == "DEADLINE_EXCEEDED"
    assert waited < BACKEND_DEADLINE_SECONDS + 1.5

    # SIGTERM to one service: it reports NOT_SERVING while it drains, then exits.
    os.kill(course_pid, signal.SIGTERM)
    statuses = asyncio.run(_statuses_during_drain(system.ports["COURSE_PORT"]))
    assert health_pb2.HealthCheckResponse.NOT_SERVING in statuses
    # The launcher supervises: the course service comes back and the API recovers.
    deadline = time.monotonic() + 30
    while client.get(f"/api/v1/courses/{course['id']}", headers=owner).status_code != 200:
        assert time.monotonic() < deadline, "course service was not restarted"
        time.sleep(0.2)

    children = system.state()["children"]
    started = time.monotonic()
    system.process.send_signal(signal.SIGTERM)
    system.process.wait(timeout=10)
    assert time.monotonic() - started < 5.0
    assert system.process.returncode == 0
    assert not [name for name, pid in children.items() if _pid_alive(pid)]


async def _statuses_during_drain(port: int) -> list[int]:
    statuses = []
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            statuses.append(await _health(port))
        except Exception:
            break
        await asyncio.sleep(0.05)
    return statuses
