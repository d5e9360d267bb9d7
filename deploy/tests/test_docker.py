"""The image definition (no Docker engine here: static checks) and its entrypoint script."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deploy.k8s.render import Object
from deploy.tests.manifests import APP_IMAGE, containers, pod_templates
from kernel.settings import SERVICE_NAMES

DOCKER = Path(__file__).resolve().parents[1] / "docker"
ROOT = DOCKER.parents[1]
ENTRYPOINT = DOCKER / "entrypoint.sh"
COMPILERS = ("gcc", "g++", "build-essential", "clang", "make", "cc ")


@dataclass
class Stage:
    """One FROM ... stage of the Dockerfile, its instructions with continuation lines joined."""

    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages."""
    joined = re.sub(r"\\\n", " ", text)
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m[1], m[0]), parts[0])
            stages.append(Stage(base, parts[2] if len(parts) > 2 else str(len(stages))))
        elif keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif stages:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    """The Dockerfile's stages."""
    return parse_dockerfile((DOCKER / "Dockerfile").read_text())[1]


def test_base_image_is_pinned_to_an_exact_python_311_tag(stages: list[Stage]) -> None:
    for stage in stages:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", stage.base)
    assert len({stage.base for stage in stages}) == 1, "builder and runtime share the base"


def test_builder_generates_the_code_with_make_proto(stages: list[Stage]) -> None:
    builder, runtime = stages[0], stages[-1]
    assert len(stages) >= 2
    assert any("make proto" in run for run in builder.all("RUN"))
    assert any("-c requirements.lock" in run for run in builder.all("RUN"))
    copied = " ".join(runtime.all("COPY"))
    assert f"--from={builder.name} /opt/venv" in copied
    assert f"--from={builder.name} /app" in copied


def test_final_stage_has_no_compilers_and_runs_as_a_user(stages: list[Stage]) -> None:
    runtime = stages[-1]
    for run in runtime.all("RUN"):
        assert "apt-get install" not in run
        assert not any(compiler in run for compiler in COMPILERS), run
    (user,) = runtime.all("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit()
    assert int(uid) != 0
    assert int(gid or uid) != 0
    env = " ".join(runtime.all("ENV"))
    assert "PYTHONPATH=/app:/app/gen" in env
    assert runtime.all("ENTRYPOINT") == ['["/usr/local/bin/unpuzzle"]']


def test_pods_run_as_the_image_user(stages: list[Stage], rendered: dict[str, list[Object]]) -> None:
    uid = int(stages[-1].all("USER")[0].partition(":")[0])
    users = {
        (container.get("securityContext") or {}).get("runAsUser")
        or template.spec["securityContext"]["runAsUser"]
        for objects in rendered.values()
        for template in pod_templates(objects)
        for container in containers(template.spec)
        if container["image"].startswith(f"{APP_IMAGE}:")
    }
    assert users == {uid}


def test_build_context_is_an_allowlist() -> None:
    lines = [
        line
        for line in (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "*"
    included = {line[1:] for line in lines if line.startswith("!")}
    for path in included:
        assert (ROOT / path).exists(), path
    assert "**/tests" in lines


def run_entrypoint(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run entrypoint.sh with a stand-in `python` that prints its arguments."""
    fake = tmp_path / "bin" / "python"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text('#!/bin/sh\necho "python $*"\n')
    fake.chmod(0o755)
    sh = shutil.which("sh")
    assert sh is not None
    return subprocess.run(
        [sh, str(ENTRYPOINT), *args],
        capture_output=True,
        text=True,
        env={"PATH": f"{fake.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
        check=False,
        timeout=10,
    )


@pytest.mark.parametrize(
    ("args", "command"),
    [
        *(((name,), f"python -m services.{name}") for name in SERVICE_NAMES),
        (("gateway",), "python -m gateway"),
        *((("migrate", name), f"python -m services.{name} migrate") for name in SERVICE_NAMES),
        (("user", "create-admin"), "python -m services.user create-admin"),
    ],
)
def test_entrypoint_runs_each_component(
    tmp_path: Path, args: tuple[str, ...], command: str
) -> None:
    result = run_entrypoint(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == command


@pytest.mark.parametrize("args", [(), ("migrate",), ("migrate", "gateway"), ("worker",)])
def test_entrypoint_refuses_unknown_commands(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = run_entrypoint(tmp_path, *args)
    assert result.returncode == 64
    assert "usage: unpuzzle" in result.stderr
    assert result.stdout == ""


def test_manifests_only_use_entrypoint_commands(rendered: dict[str, list[Object]]) -> None:
    commands = {
        tuple(container["args"])
        for objects in rendered.values()
        for template in pod_templates(objects)
        for container in containers(template.spec)
        if container["image"].startswith(f"{APP_IMAGE}:")
    }
    assert commands == {
        *((name,) for name in (*SERVICE_NAMES, "gateway")),
        *(("migrate", name) for name in SERVICE_NAMES),
    }
