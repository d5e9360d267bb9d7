"""The whole system as `make run` starts it: the launcher in a subprocess on free ports."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from deploy.demo_data import TOPICS
from deploy.embedded_nats import free_port
from kernel.settings import load_settings
from tests.auth import TokenFactory
from tests.databases import POSTGRES_URL, admin_url, create_database, drop_database, in_thread

ROOT = Path(__file__).resolve().parents[2]
PORT_VARIABLES = (
    "GATEWAY_PORT",
    "USER_PORT",
    "COURSE_PORT",
    "ANALYTICS_PORT",
    "USER_METRICS_PORT",
    "COURSE_METRICS_PORT",
    "ANALYTICS_METRICS_PORT",
    "EMBEDDED_NATS_PORT",
)


@dataclass
class RunningSystem:
    """A launcher process and where to reach what it started."""

    process: subprocess.Popen[bytes]
    base_url: str
    run_dir: Path
    ports: dict[str, int]

    def state(self) -> dict:
        """The launcher's `.run/launcher.json` (children, addresses)."""
        return json.loads((self.run_dir / "launcher.json").read_text())

    def wait_ready(self, client: httpx.Client, timeout: float = 90.0) -> None:
        """Until `/readyz` is 200; fails with the launcher's output if it exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read().decode() if self.process.stdout else ""
                raise AssertionError(f"launcher exited early:\n{output}")
            try:
                if client.get("/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        raise AssertionError("the system did not become ready")

    def wait_for_demo_catalogue(self, client: httpx.Client, timeout: float = 120.0) -> list[dict]:
        """Until the launcher's demo courses are all listed; returns them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            page = client.get("/api/v1/courses", params={"pageSize": 50}).json()
            if page["meta"]["pagination"]["totalSize"] >= len(TOPICS):
                return list(page["data"])
            time.sleep(0.5)
        raise AssertionError("the demo catalogue was not seeded")

    def instructor_headers(self) -> dict[str, str]:
        """An instructor's bearer token signed with the system's development key."""
        settings = replace(load_settings(), jwt_keys_dir=self.run_dir / "keys")
        return TokenFactory(settings).instructor()


@contextmanager
def launched(
    run_dir: Path,
    *,
    env: dict[str, str] | None = None,
    ports: dict[str, int] | None = None,
    postgres: bool = False,
) -> Iterator[RunningSystem]:
    """Start the launcher (SQLite, or a fresh PostgreSQL database when `postgres` and
    DATABASE_URL is set); SIGTERM, then kill, on exit."""
    database = None
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    if postgres and POSTGRES_URL:
        database = f"unpuzzle_e2e_{uuid.uuid4().hex[:8]}"
        in_thread(lambda: asyncio.run(create_database(database)))
        environment["DATABASE_URL"] = admin_url(POSTGRES_URL, database)
    chosen = {name: free_port() for name in PORT_VARIABLES} | (ports or {})
    environment.update({key: str(value) for key, value in chosen.items()})
    environment["UNPUZZLE_RUN_DIR"] = str(run_dir)
    environment.update(env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy.launcher"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield RunningSystem(process, f"http://127.0.0.1:{chosen['GATEWAY_PORT']}", run_dir, chosen)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if database:
            in_thread(lambda: asyncio.run(drop_database(database)))
