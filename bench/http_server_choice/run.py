"""Benchmark candidate HTTP servers/frameworks for the REST gateway.

For every candidate in ``SERVERS`` (apps in ``apps.py``) this script, ``--repeats``
times over (servers interleaved within each repeat to spread machine drift):

1. starts the server (one worker process) on 127.0.0.1 on a free port, pinned to
   CPU ``--server-cpu``, and waits until it answers and returns the expected body;
2. for GET and POST and each concurrency: runs ``wrk`` (one thread, pinned to CPU
   ``--wrk-cpu``) for ``--warmup`` seconds (discarded), then ``--duration`` seconds,
   reading wrk's summary from a Lua ``done()`` hook and the server process tree's
   CPU time from /proc, and wrk's own CPU time from ``getrusage``;
3. stops the server with SIGTERM and records how long the shutdown took.

It then prints a markdown table of per-configuration medians and writes all raw
runs plus the machine description to ``bench/results/http_server_choice.json``.

Run it with an interpreter that has the candidates installed, e.g.::

    python3 -m venv /tmp/httpbench
    /tmp/httpbench/bin/pip install 'uvicorn[standard]' uvloop httptools starlette granian orjson
    apt-get install -y wrk
    /tmp/httpbench/bin/python bench/http_server_choice/run.py
"""

from __future__ import annotations

import argparse
import contextlib
import http
import http.client
import json
import os
import platform
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE.parent / "results" / "http_server_choice.json"
HOST = "127.0.0.1"  # loopback only
URL_PATH = "/v1/items/42"
REQUEST_ID = "bench-0001"
POST_BODY = (
    '{"name":"blue-widget","quantity":3,"tags":["catalog","sale"],"note":"bench request body"}'
)
PACKAGES = ("uvicorn", "granian", "starlette", "uvloop", "httptools", "orjson", "anyio")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# name -> (server, app target in apps.py)
SERVERS: dict[str, tuple[str, str]] = {
    "uvicorn + raw ASGI": ("uvicorn", "apps:raw_asgi"),
    "uvicorn + Starlette": ("uvicorn", "apps:starlette_app"),
    "granian + raw ASGI": ("granian-asgi", "apps:raw_asgi"),
    "granian + Starlette": ("granian-asgi", "apps:starlette_app"),
    "granian + raw RSGI (ref)": ("granian-rsgi", "apps:raw_rsgi"),
}


def server_argv(server: str, target: str, python: str, port: int) -> list[str]:
    """Command line for one single-worker server process."""
    if server == "uvicorn":
        return [
            python, "-m", "uvicorn", target,
            "--host", HOST, "--port", str(port),
            "--http", "httptools", "--loop", "uvloop", "--lifespan", "on",
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
    interface = server.removeprefix("granian-")
    return [
        python, "-m", "granian",
        "--interface", interface, "--loop", "uvloop", "--workers", "1",
        "--host", HOST, "--port", str(port),
        "--no-access-log", "--log-level", "warning",
        target,
    ]  # fmt: skip


@dataclass(frozen=True)
class Run:
    """One measured wrk run."""

    server: str
    method: str
    concurrency: int
    repeat: int
    duration_s: float
    requests: int
    rps: float
    rps_wrk_text: float  # "Requests/sec:" line, as a cross-check of the Lua summary
    p50_us: float
    p99_us: float
    max_us: float
    errors: int  # socket errors (connect/read/write/timeout) + non-2xx/3xx responses
    server_cpu_s: float  # CPU time (user+sys) of the server process tree during the run
    wrk_cpu_s: float
    server_core_busy_pct: float | None  # whole server core, any process (from /proc/stat)
    steal_pct: float | None  # hypervisor steal on the server core


@dataclass(frozen=True)
class Summary:
    """Medians over the repeats of one (server, method, concurrency)."""

    server: str
    method: str
    concurrency: int
    rps: float
    p50_us: float
    p99_us: float
    errors_total: int
    server_cpu_us_per_req: float
    server_cpu_pct: float
    wrk_cpu_pct: float
    server_core_busy_pct: float | None


@dataclass
class Lifecycle:
    """Start/stop observations of one server process."""

    server: str
    repeat: int
    startup_s: float = 0.0
    shutdown_s: float = 0.0
    exit_code: int | None = None
    needed_sigkill: bool = False


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def request(port: int, method: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        headers = {"x-request-id": REQUEST_ID, "content-type": "application/json"}
        conn.request(
            method, URL_PATH, body=POST_BODY if method == "POST" else None, headers=headers
        )
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def check_responses(port: int) -> dict[str, int]:
    """Fail loudly if a candidate does not serve the agreed response."""
    sizes: dict[str, int] = {}
    for method in ("GET", "POST"):
        status, headers, body = request(port, method)
        doc = json.loads(body)
        expected_name = "blue-widget" if method == "POST" else "default-widget"
        if (
            status != http.HTTPStatus.OK
            or doc["item"]["id"] != "42"
            or doc["item"]["name"] != expected_name
        ):
            raise RuntimeError(f"{method}: unexpected response {status} {body!r}")
        if headers.get("x-request-id") != REQUEST_ID or "x-upstream-service" not in headers:
            raise RuntimeError(f"{method}: missing custom headers: {headers}")
        sizes[method] = len(body)
    return sizes


def proc_tree_cpu_s(root: int) -> float:
    """User+system CPU seconds of ``root`` and all its descendants (all threads)."""
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parent[pid] = int(fields[1])
        ticks[pid] = int(fields[11]) + int(fields[12])  # utime + stime
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [child for child, ppid in parent.items() if ppid == pid]
        tree.update(children)
        frontier.extend(children)
    return sum(ticks.get(pid, 0) for pid in tree) / CLK_TCK


def core_ticks(cpu: int | None) -> tuple[int, int, int]:
    """(busy, steal, total) jiffies of one CPU from /proc/stat; zeros when not pinned."""
    if cpu is None:
        return 0, 0, 0
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{cpu} "):
            user, nice, system, idle, iowait, irq, softirq, steal = map(int, line.split()[1:9])
            busy = user + nice + system + irq + softirq
            return busy, steal, busy + steal + idle + iowait
    raise ValueError(f"cpu{cpu} not in /proc/stat")


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def write_lua(directory: Path, method: str) -> Path:
    """wrk script: set headers/body, print a machine-readable summary at the end."""
    setup = f'wrk.headers["X-Request-Id"] = "{REQUEST_ID}"\n'
    if method == "POST":
        setup += (
            'wrk.method = "POST"\n'
            f"wrk.body = '{POST_BODY}'\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
    done = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_JSON {\\"requests\\":%.0f,\\"duration_us\\":%.0f,\\"p50_us\\":%.1f,\\"p99_us\\":%.1f," ..
    "\\"max_us\\":%.1f,\\"errors\\":%.0f}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect + e.read + e.write + e.timeout + e.status))
end
"""
    path = directory / f"{method.lower()}.lua"
    path.write_text(setup + done)
    return path


def run_wrk(
    port: int, script: Path, concurrency: int, seconds: int, wrk_cpu: int | None
) -> tuple[dict[str, float], float, float]:
    """Run wrk once; return (Lua summary, Requests/sec text, wrk CPU seconds)."""
    argv = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script)]
    argv.append(f"http://{HOST}:{port}{URL_PATH}")
    if wrk_cpu is not None:
        argv = ["taskset", "-c", str(wrk_cpu), *argv]
    cpu_before = children_cpu_s()
    out = subprocess.run(
        argv, capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    wrk_cpu_s = children_cpu_s() - cpu_before
    summary_line = next(line for line in out.splitlines() if line.startswith("WRK_JSON "))
    summary: dict[str, float] = json.loads(summary_line.removeprefix("WRK_JSON "))
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return summary, float(match.group(1)) if match else 0.0, wrk_cpu_s


@contextlib.contextmanager
def running_server(
    name: str, python: str, server_cpu: int | None, life: Lifecycle
) -> Iterator[tuple[int, int]]:
    """Start a candidate, wait until it serves the expected body; yield (port, pid)."""
    server, target = SERVERS[name]
    port = free_port()
    argv = server_argv(server, target, python, port)
    if server_cpu is not None:
        argv = ["taskset", "-c", str(server_cpu), *argv]  # taskset execs: same pid
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=HERE, start_new_session=True)
    try:
        deadline = started + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode} during startup")
            with contextlib.suppress(OSError, http.client.HTTPException):
                check_responses(port)
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer within 20 s")
            time.sleep(0.05)
        life.startup_s = time.monotonic() - started
        yield port, proc.pid
    finally:
        stopping = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            life.exit_code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            life.needed_sigkill = True
        life.shutdown_s = time.monotonic() - stopping
        with contextlib.suppress(ProcessLookupError):  # leftovers in the session (workers)
            os.killpg(proc.pid, 0)
            life.needed_sigkill = True
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# --------------------------------------------------------------------------- #
# measurement, summary, report
# --------------------------------------------------------------------------- #


def measure_case(
    args: argparse.Namespace, case: tuple[str, str, int, int], port: int, pid: int, script: Path
) -> Run:
    """Warm up, then measure one (server, method, concurrency, repeat) on a running server."""
    name, method, conc, repeat = case
    run_wrk(port, script, conc, args.warmup, args.wrk_cpu)
    cpu_before, core_before = proc_tree_cpu_s(pid), core_ticks(args.server_cpu)
    summary, rps_text, wrk_cpu_s = run_wrk(port, script, conc, args.duration, args.wrk_cpu)
    server_cpu_s = proc_tree_cpu_s(pid) - cpu_before
    busy, steal, total = (
        a - b for a, b in zip(core_ticks(args.server_cpu), core_before, strict=True)
    )
    duration_s = summary["duration_us"] / 1e6
    return Run(
        server=name,
        method=method,
        concurrency=conc,
        repeat=repeat,
        duration_s=duration_s,
        requests=int(summary["requests"]),
        rps=summary["requests"] / duration_s,
        rps_wrk_text=rps_text,
        p50_us=summary["p50_us"],
        p99_us=summary["p99_us"],
        max_us=summary["max_us"],
        errors=int(summary["errors"]),
        server_cpu_s=server_cpu_s,
        wrk_cpu_s=wrk_cpu_s,
        server_core_busy_pct=100 * busy / total if total else None,
        steal_pct=100 * steal / total if total else None,
    )


def measure(
    args: argparse.Namespace,
) -> tuple[list[Run], list[Lifecycle], dict[str, dict[str, int]]]:
    """All repeats x servers x methods x concurrencies; servers interleaved per repeat."""
    runs: list[Run] = []
    lifecycles: list[Lifecycle] = []
    body_sizes: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        scripts = {method: write_lua(Path(tmp), method) for method in args.methods}
        for repeat in range(1, args.repeats + 1):
            for name in args.servers:
                life = Lifecycle(server=name, repeat=repeat)
                lifecycles.append(life)
                with running_server(name, args.python, args.server_cpu, life) as (port, pid):
                    body_sizes[name] = check_responses(port)
                    for method in args.methods:
                        for conc in args.concurrency:
                            case = (name, method, conc, repeat)
                            run = measure_case(args, case, port, pid, scripts[method])
                            runs.append(run)
                            print(
                                f"[{repeat}/{args.repeats}] {name:26} {method:4} "
                                f"c={conc:<3} {run.rps:9.0f} req/s "
                                f"p50={run.p50_us:7.0f}us p99={run.p99_us:7.0f}us "
                                f"err={run.errors} core={run.server_core_busy_pct or 0:.0f}%",
                                file=sys.stderr,
                                flush=True,
                            )
    return runs, lifecycles, body_sizes


def median_or_none(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarise(runs: list[Run]) -> list[Summary]:
    groups: dict[tuple[str, str, int], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.server, run.method, run.concurrency), []).append(run)
    result = []
    for (server, method, conc), group in groups.items():
        result.append(
            Summary(
                server=server,
                method=method,
                concurrency=conc,
                rps=statistics.median(r.rps for r in group),
                p50_us=statistics.median(r.p50_us for r in group),
                p99_us=statistics.median(r.p99_us for r in group),
                errors_total=sum(r.errors for r in group),
                server_cpu_us_per_req=statistics.median(
                    r.server_cpu_s / r.requests * 1e6 for r in group
                ),
                server_cpu_pct=statistics.median(
                    100 * r.server_cpu_s / r.duration_s for r in group
                ),
                wrk_cpu_pct=statistics.median(100 * r.wrk_cpu_s / r.duration_s for r in group),
                server_core_busy_pct=median_or_none([r.server_core_busy_pct for r in group]),
            )
        )
    return result


def markdown_table(summaries: list[Summary]) -> str:
    lines = [
        "| server + app | method | conc | req/s | p50 (ms) | p99 (ms) | errors "
        "| server CPU µs/req | server CPU % | wrk CPU % |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for s in summaries:
        lines.append(
            f"| {s.server} | {s.method} | {s.concurrency} | {s.rps:,.0f} | {s.p50_us / 1000:.2f} "
            f"| {s.p99_us / 1000:.2f} | {s.errors_total} | {s.server_cpu_us_per_req:.0f} "
            f"| {s.server_cpu_pct:.0f} | {s.wrk_cpu_pct:.0f} |"
        )
    return "\n".join(lines)


def command_output(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError as exc:
        return f"unavailable: {exc}"
    return (proc.stdout + proc.stderr).strip()


def machine_description(python: str) -> dict[str, object]:
    versions_json = command_output(
        [
            python, "-c",
            "import json, importlib.metadata as m; "
            f"print(json.dumps({{p: m.version(p) for p in {PACKAGES!r}}}))",
        ]
    )  # fmt: skip
    return {
        "nproc": command_output(["nproc"]),
        "lscpu_head": command_output(["lscpu"]).splitlines()[:12],
        "kernel": platform.release(),
        "python": command_output([python, "-VV"]),
        "packages": json.loads(versions_json),
        "wrk": command_output(["wrk", "-v"]).splitlines()[0],
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of discarded warm-up")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--methods", nargs="+", default=["GET", "POST"], choices=["GET", "POST"])
    parser.add_argument("--servers", nargs="+", default=list(SERVERS), choices=list(SERVERS))
    parser.add_argument("--python", default=sys.executable, help="interpreter that runs servers")
    parser.add_argument("--server-cpu", type=int, default=0, help="CPU to pin the server to")
    parser.add_argument("--wrk-cpu", type=int, default=1, help="CPU to pin wrk to")
    parser.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    if args.no_pin:
        args.server_cpu = args.wrk_cpu = None
    return args


def main() -> None:
    args = parse_args()
    started = time.time()
    runs, lifecycles, body_sizes = measure(args)
    summaries = summarise(runs)
    table = markdown_table(summaries)
    print(table)
    result = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "settings": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "repeats": args.repeats,
            "concurrency": args.concurrency,
            "server_cpu": args.server_cpu,
            "wrk_cpu": args.wrk_cpu,
            "wrk_threads": 1,
            "url_path": URL_PATH,
            "post_body_bytes": len(POST_BODY),
            "response_body_bytes": body_sizes,
            "commands": {
                name: server_argv(server, target, "python", 0)
                for name, (server, target) in SERVERS.items()
            },
        },
        "machine": machine_description(args.python),
        "summary": [asdict(s) for s in summaries],
        "lifecycle": [asdict(life) for life in lifecycles],
        "runs": [asdict(r) for r in runs],
        "markdown": table,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
