"""JetStream configuration: stream definitions agree with the code, the NATS cluster is durable."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from deploy.embedded_nats import nats_server_binary
from deploy.k8s.render import Object
from deploy.tests.manifests import K8S, config_map, named
from kernel.messaging import stream_config
from kernel.settings import SERVICE_NAMES

NATS_CONF = K8S / "components" / "nats" / "nats.conf"
STREAMS = K8S / "base" / "jetstream"
NANOSECONDS = 1_000_000_000


def stream_files() -> dict[str, dict[str, object]]:
    """Stream name -> definition, from deploy/k8s/base/jetstream."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(STREAMS.glob("*.json"))}


def test_one_stream_per_service() -> None:
    assert set(stream_files()) == {stream_config(name).name for name in SERVICE_NAMES}


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_stream_definition_matches_what_the_service_creates(service: str) -> None:
    """The services compare these fields at start-up and rewrite the stream (with one replica)
    when they differ, so a mismatch would undo the three replicas of the definition."""
    code = stream_config(service)
    assert code.name is not None
    definition = stream_files()[code.name]
    assert definition["name"] == code.name
    assert definition["subjects"] == code.subjects == [f"unpuzzle.{service}.>"]
    assert definition["storage"] == "file" == str(code.storage.value if code.storage else "")
    assert (
        definition["retention"] == "limits" == str(code.retention.value if code.retention else "")
    )
    assert definition["discard"] == "old" == str(code.discard.value if code.discard else "")
    assert definition["duplicate_window"] == int((code.duplicate_window or 0) * NANOSECONDS)
    assert definition["duplicate_window"] == 120 * NANOSECONDS
    assert definition["max_age"] == int((code.max_age or 0) * NANOSECONDS)


def test_streams_are_replicated_on_every_nats_node(rendered: dict[str, list[Object]]) -> None:
    nats = named(rendered["prod"], "StatefulSet", "nats")["spec"]
    for definition in stream_files().values():
        assert definition["num_replicas"] == nats["replicas"] == 3


def test_streams_config_map_carries_the_definitions(rendered: dict[str, list[Object]]) -> None:
    data = config_map(rendered["prod"], "jetstream-streams")["data"]
    assert {key: json.loads(value) for key, value in data.items()} == {
        f"{name}.json": definition for name, definition in stream_files().items()
    }


def conf_value(key: str) -> str:
    match = re.search(rf"^\s*{key}:\s*(\S+)", NATS_CONF.read_text(), re.MULTILINE)
    assert match is not None, key
    return match[1]


def test_every_acknowledged_message_is_on_disk() -> None:
    assert conf_value("sync_interval") == "always"
    assert conf_value("store_dir") == "/data"


def test_nats_stops_within_its_grace_period(rendered: dict[str, list[Object]]) -> None:
    seconds = {
        key: int(conf_value(key).removesuffix("s"))
        for key in ("lame_duck_duration", "lame_duck_grace_period")
    }
    spec = named(rendered["prod"], "StatefulSet", "nats")["spec"]["template"]["spec"]
    assert spec["terminationGracePeriodSeconds"] >= sum(seconds.values()) + 10
    container = spec["containers"][0]
    assert "ldm=/var/run/nats/nats.pid" in container["lifecycle"]["preStop"]["exec"]["command"]


def test_routes_name_every_node(rendered: dict[str, list[Object]]) -> None:
    nats = named(rendered["prod"], "StatefulSet", "nats")["spec"]
    routes = re.findall(r"nats://(nats-\d+)\.(\S+):6222", NATS_CONF.read_text())
    assert sorted(routes) == [(f"nats-{i}", nats["serviceName"]) for i in range(nats["replicas"])]


def test_nats_server_accepts_the_configuration(tmp_path: Path) -> None:
    try:
        binary = nats_server_binary()
    except FileNotFoundError:
        pytest.skip("nats-server not installed")
    result = subprocess.run(
        [str(binary), "-t", "-c", str(NATS_CONF)],
        capture_output=True,
        text=True,
        env={"SERVER_NAME": "nats-0"},
        cwd=tmp_path,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    broken = tmp_path / "broken.conf"
    broken.write_text(NATS_CONF.read_text().replace("sync_interval: always", "sync_interval: x"))
    result = subprocess.run(
        [str(binary), "-t", "-c", str(broken)],
        capture_output=True,
        text=True,
        env={"SERVER_NAME": "nats-0"},
        check=False,
        timeout=30,
    )
    assert result.returncode != 0, "nats-server -t does not check sync_interval"
