"""`make run`: the whole system on one machine.

Starts NATS (the embedded binary unless NATS_URL is set), applies every service's migrations,
starts the user, course and analytics services and the gateway as child processes, waits until
the gateway is ready, prints where everything is, and stops it all on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from deploy.demo_data import INSTRUCTORS, STUDENTS, TOPICS, SeedError, seed_demo_data
from deploy.embedded_nats import EmbeddedNats
from kernel.jwt_keys import ensure_dev_keys
from kernel.settings import SERVICE_NAMES, Settings, load_settings

STOP_TIMEOUT_SECONDS = 4.5
READY_TIMEOUT_SECONDS = 90.0
MAX_RESTARTS = 5
REPLICA_PORT_STEP = 100
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the launcher dies, so no process is orphaned."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """A component process of the system."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0

    def start(self) -> None:
        """Start the process in its own session, its output appended to its log file."""
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            self.args,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only sets the death signal
        )


class Launcher:
    """Owns the child processes and the embedded NATS server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.run_dir = settings.run_dir
        self.log_dir = self.run_dir / "logs"
        self.children: list[Child] = []
        self.nats: EmbeddedNats | None = None
        self.nats_url = settings.nats_url
        self._stop = threading.Event()

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["UNPUZZLE_RUN_DIR"] = str(self.run_dir)
        env["NATS_URL"] = self.nats_url or ""
        # Fit the children's drain and grace into the launcher's stop budget.
        env.setdefault("SHUTDOWN_DRAIN_SECONDS", "0.5")
        env.setdefault("SHUTDOWN_GRACE_SECONDS", "2")
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start_nats(self) -> None:
        """Use NATS_URL if given, else start the embedded server with JetStream under .run/."""
        if self.nats_url:
            print(f"  nats       {self.nats_url} (external)")
            return
        port = int(os.environ.get("EMBEDDED_NATS_PORT", "0")) or None
        self.nats = EmbeddedNats(self.run_dir / "nats", port, log_file=self.log_dir / "nats.log")
        self.nats.start()
        self.nats_url = self.nats.url
        print(f"  nats       {self.nats_url} (embedded, JetStream in {self.run_dir / 'nats'})")

    def migrate(self) -> None:
        """Apply every service's migrations (in parallel, one process per service)."""
        env = self._child_env()
        processes = {
            name: subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", f"services.{name}", "migrate"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for name in SERVICE_NAMES
        }
        for name, process in processes.items():
            output, _ = process.communicate()
            if process.returncode != 0:
                sys.stderr.write(output.decode(errors="replace"))
                raise SystemExit(f"migrations of the {name} service failed")
        print("  migrations applied:", ", ".join(SERVICE_NAMES))

    def replica_ports(self, name: str) -> list[tuple[int, int]]:
        """(gRPC, metrics) ports of each replica: the configured ones, then +100 per replica."""
        count = max(1, int(os.environ.get(f"{name.upper()}_REPLICAS", "1")))
        grpc_port = self.settings.grpc_ports[name]
        metrics_port = self.settings.metrics_ports[name]
        return [
            (grpc_port + REPLICA_PORT_STEP * i, metrics_port + REPLICA_PORT_STEP * i)
            for i in range(count)
        ]

    def start_components(self) -> None:
        """Start the services (N replicas each with <NAME>_REPLICAS) and the gateway."""
        env = self._child_env()
        gateway_env = dict(env)
        for name in SERVICE_NAMES:
            replicas = self.replica_ports(name)
            for index, (grpc_port, metrics_port) in enumerate(replicas, start=1):
                replica_env = {
                    **env,
                    f"{name.upper()}_PORT": str(grpc_port),
                    f"{name.upper()}_METRICS_PORT": str(metrics_port),
                    "UNPUZZLE_REPLICA": str(index),
                }
                label = name if len(replicas) == 1 else f"{name}-{index}"
                command = [sys.executable, "-m", f"services.{name}"]
                self.children.append(
                    Child(label, command, replica_env, self.log_dir / f"{label}.log")
                )
            if len(replicas) > 1 and not os.environ.get(f"{name.upper()}_SERVICE_ADDR"):
                # The gateway's channel balances round-robin over every listed replica.
                addresses = ",".join(f"{self.settings.listen_host}:{port}" for port, _ in replicas)
                gateway_env[f"{name.upper()}_SERVICE_ADDR"] = f"ipv4:{addresses}"
        self.children.append(
            Child(
                "gateway",
                [sys.executable, "-m", "gateway"],
                gateway_env,
                self.log_dir / "gateway.log",
            )
        )
        for child in self.children:
            child.start()
        self._write_state()

    def _write_state(self) -> None:
        """Record child pids and addresses in .run/launcher.json for operators and tests."""
        state = {
            "pid": os.getpid(),
            "natsUrl": self.nats_url,
            "gateway": f"http://{self.settings.gateway_host}:{self.settings.gateway_port}",
            "children": {
                child.name: child.process.pid
                for child in self.children
                if child.process is not None
            },
        }
        (self.run_dir / "launcher.json").write_text(json.dumps(state, indent=2))

    def wait_until_ready(self) -> None:
        """Poll the gateway's /readyz until every backend is SERVING."""
        url = f"http://{self.settings.gateway_host}:{self.settings.gateway_port}/readyz"
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline and not self._stop.is_set():
            self._check_children()
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        if not self._stop.is_set():
            raise SystemExit(
                f"the system did not become ready within {READY_TIMEOUT_SECONDS:.0f} s"
            )

    def _check_children(self) -> None:
        """Restart a component that died (a supervisor's job), up to MAX_RESTARTS times."""
        for child in self.children:
            if child.process is None or child.process.poll() is None or self._stop.is_set():
                continue
            code = child.process.returncode
            if child.restarts >= MAX_RESTARTS:
                raise SystemExit(f"{child.name} keeps exiting (code {code}); see {child.log_path}")
            child.restarts += 1
            print(
                f"  {child.name} exited with code {code}; restarting ({child.restarts})", flush=True
            )
            child.start()
            self._write_state()

    def print_banner(self) -> None:
        """Tell the user where things are."""
        s = self.settings
        print(
            "\nUnpuzzle is running:\n"
            f"  gateway    http://{s.gateway_host}:{s.gateway_port}"
            "  (REST /api/v1, /readyz, /metrics)\n"
            + "".join(
                f"  {name:<10} grpc {s.listen_host}:{grpc_port}"
                f"  metrics http://{s.listen_host}:{metrics_port}/metrics\n"
                for name in SERVICE_NAMES
                for grpc_port, metrics_port in self.replica_ports(name)
            )
            + f"  database   {s.database_url or f'SQLite files in {self.run_dir}'}\n"
            f"  redis      {s.redis_url or 'not configured: in-process caches and limits'}\n"
            f"  logs       {self.log_dir}\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )

    @property
    def stopping(self) -> bool:
        """True once a stop was requested."""
        return self._stop.is_set()

    def seed_demo_data(self) -> None:
        """A living catalogue on first start (UNPUZZLE_DEMO_DATA=false turns it off)."""
        if os.environ.get("UNPUZZLE_DEMO_DATA", "true").lower() in {"0", "false", "no"}:
            return
        base_url = f"http://{self.settings.gateway_host}:{self.settings.gateway_port}"
        try:
            if seed_demo_data(base_url, self.settings.admin_email, self.settings.admin_password):
                print(
                    f"  demo data  seeded: categories, {len(INSTRUCTORS)} instructors,"
                    f" {len(TOPICS)} courses, {len(STUDENTS)} students"
                )
        except SeedError as error:
            print(f"  demo data  not seeded: {error}", flush=True)
        if self.settings.uses_development_admin:
            print(
                f"  admin      {self.settings.admin_email} / {self.settings.admin_password}"
                "  (development default: production must set UNPUZZLE_ADMIN_EMAIL/PASSWORD)"
            )

    def request_stop(self, *_: object) -> None:
        """Signal handler: begin shutdown."""
        self._stop.set()

    def supervise(self) -> None:
        """Run until a signal arrives or a component dies."""
        while not self._stop.wait(0.5):
            self._check_children()

    def stop(self) -> None:
        """SIGTERM every component, wait for them, kill what remains, then stop NATS."""
        for child in self.children:
            if child.process is not None and child.process.poll() is None:
                child.process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"  {child.name} did not stop in time; killing it", flush=True)
                child.process.kill()
                child.process.wait()
        if self.nats is not None:
            self.nats.stop(timeout=1.0)
        print("stopped", flush=True)


def main() -> None:
    """Entry point of `python -m deploy.launcher`."""
    parser = argparse.ArgumentParser(prog="python -m deploy.launcher")
    parser.add_argument("--migrate-only", action="store_true", help="apply migrations and exit")
    args = parser.parse_args()
    settings = load_settings()
    launcher = Launcher(settings)
    launcher.log_dir.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, launcher.request_stop)
    signal.signal(signal.SIGINT, launcher.request_stop)
    print("Starting Unpuzzle", flush=True)
    try:
        if args.migrate_only:
            launcher.migrate()
            return
        if settings.jwt_public_keys_file is None:
            # Embedded default: a signing key generated into .run/keys on first start.
            ensure_dev_keys(settings.signing_keys_dir)
        launcher.start_nats()
        launcher.migrate()
        launcher.start_components()
        launcher.wait_until_ready()
        if not launcher.stopping:
            launcher.seed_demo_data()
            launcher.print_banner()
            launcher.supervise()
    except SystemExit as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        launcher.stop()
        raise SystemExit(1) from None
    launcher.stop()


if __name__ == "__main__":
    main()
