"""`make bench`: throughput and latency of the main REST routes, on this machine.

Starts the whole system with the launcher (fresh state under .run/bench, rate limits off), seeds
an instructor, a student and a published course through the public API, then runs closed-loop
load at a few concurrencies against: a trivial server (the load generator's ceiling), /healthz,
anonymous course detail (cached), the course list page, authenticated GET /me, POST course and
PUT progress heartbeat; finally the gateway's own cost: the same GetCourse through REST and
directly over gRPC. Results go to bench/results/<timestamp>.json and .md (and latest.*).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import httpx
import uvloop

from bench.loadgen import LoadResult, http_request, run_load
from deploy.embedded_nats import free_port, wait_for_port
from kernel.grpc_options import CLIENT_OPTIONS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ADMIN = ("admin@unpuzzle.local", "unpuzzle-admin-dev")


def _machine() -> dict[str, Any]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        # What the system under test ran on (the environment the launcher inherits).
        "database": "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite",
        "redis": "yes" if os.environ.get("REDIS_URL") else "no",
        "nats": "external" if os.environ.get("NATS_URL") else "embedded",
    }


class System:
    """The launcher as a subprocess, on free ports, with its own state directory."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.ports = {
            name: free_port()
            for name in ("GATEWAY_PORT", "USER_PORT", "COURSE_PORT", "ANALYTICS_PORT")
        }
        self.ports.update(
            {f"{n}_METRICS_PORT": free_port() for n in ("USER", "COURSE", "ANALYTICS")}
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def gateway_port(self) -> int:
        """Where the REST API listens."""
        return self.ports["GATEWAY_PORT"]

    def start(self) -> None:
        """Start everything and wait for /readyz."""
        shutil.rmtree(self.run_dir, ignore_errors=True)
        env = {**os.environ, **{k: str(v) for k, v in self.ports.items()}}
        env.update(
            {
                "UNPUZZLE_RUN_DIR": str(self.run_dir),
                "RATE_LIMIT_ENABLED": "false",
                "UNPUZZLE_DEMO_DATA": "false",  # seeding would compete with the measurements
                "LOG_LEVEL": "WARNING",
                "EMBEDDED_NATS_PORT": str(free_port()),
            }
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "deploy.launcher"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port("127.0.0.1", self.gateway_port, 120)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if (
                    httpx.get(f"http://127.0.0.1:{self.gateway_port}/readyz", timeout=2).status_code
                    == 200
                ):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise RuntimeError("the system did not become ready")

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)


def _data(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        request = response.request
        raise RuntimeError(
            f"{request.method} {request.url}: {response.status_code} {response.text}"
        )
    return response.json()["data"]


def seed(base_url: str) -> dict[str, Any]:
    """An instructor, a student enrolled in a published free course with one lesson."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        admin = _data(
            client.post("/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]})
        )
        admin_headers = {"authorization": f"Bearer {admin['accessToken']}"}
        suffix = uuid.uuid4().hex[:8]
        password = "correct-horse-battery-staple-42"

        def register(name: str) -> dict[str, Any]:
            email = f"{name}-{suffix}@bench.local"
            _data(
                client.post(
                    "/api/v1/auth/register",
                    json={"email": email, "password": password, "fullName": name},
                )
            )
            login: dict[str, Any] = _data(
                client.post("/api/v1/auth/login", json={"email": email, "password": password})
            )
            return login

        teacher = register("teacher")
        _data(
            client.post(
                f"/api/v1/users/{teacher['user']['id']}/roles",
                json={"role": "instructor"},
                headers=admin_headers,
            )
        )
        teacher = _data(
            client.post("/api/v1/auth/refresh", json={"refreshToken": teacher["refreshToken"]})
        )
        teacher_headers = {"authorization": f"Bearer {teacher['accessToken']}"}
        course = _data(
            client.post(
                "/api/v1/courses",
                json={
                    "title": f"Benchmark course {suffix}",
                    "description": "Measured.",
                    "price": "0",
                },
                headers=teacher_headers,
            )
        )
        section = _data(
            client.post(
                f"/api/v1/courses/{course['id']}/sections",
                json={"title": "Part 1"},
                headers=teacher_headers,
            )
        )
        lesson = _data(
            client.post(
                f"/api/v1/sections/{section['id']}/lessons",
                json={
                    "title": "Lesson 1",
                    "durationSeconds": 600,
                    "videoUrl": "https://video.example/1",
                },
                headers=teacher_headers,
            )
        )
        _data(client.post(f"/api/v1/courses/{course['id']}:publish", headers=teacher_headers))
        student = register("student")
        student_headers = {"authorization": f"Bearer {student['accessToken']}"}
        _data(client.post(f"/api/v1/courses/{course['id']}/enrollment", headers=student_headers))
        return {
            "course": course,
            "lesson": lesson,
            "teacher": teacher_headers,
            "student": student_headers,
        }


async def _grpc_get_course(
    port: int, course_id: str, concurrency: int, duration: float
) -> LoadResult:
    """GetCourse straight to the course service: the baseline for the gateway's added cost."""
    from unpuzzle.course.v1 import course_service_pb2, course_service_pb2_grpc

    result = LoadResult("grpc GetCourse (direct)", concurrency)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=CLIENT_OPTIONS) as channel:
        stub = course_service_pb2_grpc.CourseServiceStub(channel)
        request = course_service_pb2.GetCourseRequest(course_id_or_slug=course_id)
        loop = asyncio.get_running_loop()
        stop_at = loop.time() + duration

        async def worker() -> None:
            while loop.time() < stop_at:
                sent = time.perf_counter()
                try:
                    await stub.GetCourse(request, timeout=10)
                except grpc.aio.AioRpcError:
                    result.errors += 1
                result.latencies.append(time.perf_counter() - sent)
                result.requests += 1

        started = loop.time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.elapsed = loop.time() - started
    return result


async def measure(
    system: System, data: dict[str, Any], concurrencies: list[int], duration: float
) -> list[LoadResult]:
    """Every scenario at every concurrency."""
    host = f"127.0.0.1:{system.gateway_port}"
    course_id = data["course"]["id"]
    lesson_id = data["lesson"]["id"]
    teacher = data["teacher"]
    student = data["student"]

    def course_body(index: int) -> bytes:
        return json.dumps({"title": f"Bench {index} {uuid.uuid4().hex[:6]}"}).encode()

    def heartbeat(index: int) -> bytes:
        body = json.dumps(
            {"positionSeconds": index % 600, "watchedSeconds": index % 600, "playbackSpeed": 1.0}
        ).encode()
        return http_request(
            "PUT", f"/api/v1/lessons/{lesson_id}/progress", host=host, headers=student, body=body
        )

    scenarios = {
        "GET /healthz": lambda i: http_request("GET", "/healthz", host=host),
        "GET course detail (anonymous)": lambda i: http_request(
            "GET", f"/api/v1/courses/{course_id}", host=host
        ),
        "GET course list page": lambda i: http_request(
            "GET", "/api/v1/courses?pageSize=20", host=host
        ),
        "GET /me": lambda i: http_request("GET", "/api/v1/me", host=host, headers=student),
        "POST course": lambda i: http_request(
            "POST", "/api/v1/courses", host=host, headers=teacher, body=course_body(i)
        ),
        "PUT progress heartbeat": heartbeat,
    }
    results: list[LoadResult] = []
    trivial_port = free_port()
    # A separate process, so the ceiling is the load generator's, not a shared event loop's.
    trivial = subprocess.Popen(  # noqa: ASYNC220 - started once, before any measurement
        [sys.executable, "-m", "bench.trivial_server", str(trivial_port)], cwd=ROOT
    )
    try:
        wait_for_port("127.0.0.1", trivial_port, 10)
        for concurrency in concurrencies:
            results.append(
                await run_load(
                    "trivial server (load generator ceiling)",
                    "127.0.0.1",
                    trivial_port,
                    lambda i: http_request("GET", "/", host="x"),
                    concurrency=concurrency,
                    duration=duration,
                )
            )
    finally:
        trivial.terminate()
        trivial.wait()
    for name, factory in scenarios.items():
        for concurrency in concurrencies:
            result = await run_load(
                name,
                "127.0.0.1",
                system.gateway_port,
                factory,
                concurrency=concurrency,
                duration=duration,
            )
            p50, p99 = result.percentile(0.5), result.percentile(0.99)
            print(
                f"  {name:<32} c={concurrency:<3} {result.rate:8.0f} req/s"
                f"  p50 {p50:6.2f} ms  p99 {p99:7.2f} ms  errors {result.errors}",
                flush=True,
            )
            results.append(result)
    for concurrency in concurrencies:
        rest = await run_load(
            "REST GetCourse (through the gateway)",
            "127.0.0.1",
            system.gateway_port,
            lambda i: http_request("GET", f"/api/v1/courses/{course_id}", host=host),
            concurrency=concurrency,
            duration=duration,
        )
        direct = await _grpc_get_course(
            system.ports["COURSE_PORT"], course_id, concurrency, duration
        )
        results += [rest, direct]
    return results


def _table(results: list[LoadResult], machine: dict[str, Any]) -> str:
    lines = [
        f"# Benchmark {datetime.now(UTC).isoformat(timespec='seconds')}",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, Python {machine['python']},"
        f" {machine['platform']}.",
        f"Everything (load generator, gateway, services, NATS, {machine['database']}) runs on"
        f" this one machine; Redis: {machine['redis']}, NATS: {machine['nats']}.",
        "",
        "| scenario | concurrency | req/s | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        s = result.summary()
        cells = ("scenario", "concurrency", "requests_per_second", "p50_ms", "p99_ms", "errors")
        lines.append("| " + " | ".join(str(s[cell]) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the benchmark and write the results."""
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--concurrency", type=int, action="append", help="default: 1, 16, 64")
    args = parser.parse_args()
    concurrencies = args.concurrency or [1, 16, 64]
    system = System(ROOT / ".run" / "bench")
    print("starting the system ...", flush=True)
    system.start()
    try:
        data = seed(f"http://127.0.0.1:{system.gateway_port}")
        results = uvloop.run(measure(system, data, concurrencies, args.duration))
    finally:
        system.stop()
    machine = _machine()
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    document = {
        "machine": machine,
        "duration_seconds": args.duration,
        "results": [r.summary() for r in results],
    }
    for name in (stamp, "latest"):
        (RESULTS / f"{name}.json").write_text(json.dumps(document, indent=2))
        (RESULTS / f"{name}.md").write_text(_table(results, machine))
    print(_table(results, machine))


if __name__ == "__main__":
    main()
