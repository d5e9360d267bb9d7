"""deploy/k8s/render.py: the kustomize subset, checked on small kustomizations and, where
kubectl is installed, against `kubectl kustomize` on those and on every deploy/k8s variant."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from deploy.k8s import render
from deploy.k8s.render import (
    KustomizeError,
    build,
    config_map_hash,
    parse_yaml,
    split_image,
    strategic_merge,
)
from deploy.tests.manifests import Variant, materialize, variants

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl not installed")


def write(root: Path, files: dict[str, str]) -> Path:
    """Create files (dedented) under root; returns root."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


def kubectl_kustomize(directory: Path) -> list[dict[str, Any]]:
    """What `kubectl kustomize` renders for a directory."""
    assert KUBECTL is not None
    result = subprocess.run(
        [KUBECTL, "kustomize", str(directory)], capture_output=True, text=True, check=True
    )
    return parse_yaml(result.stdout)


DEPLOYMENT = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
            - name: a
              image: app
              env:
                - {name: X, value: "1"}
                - name: Y
                  valueFrom: {configMapKeyRef: {name: cfg, key: A}}
              envFrom: [{configMapRef: {name: cfg}}]
            - {name: b, image: "localhost:5000/other:1.0"}
          volumes:
            - {name: v, configMap: {name: cfg}}
            - name: p
              projected: {sources: [{configMap: {name: cfg}}]}
    ---
    apiVersion: batch/v1
    kind: CronJob
    metadata: {name: cj}
    spec:
      schedule: "1 1 * * *"
      jobTemplate:
        spec:
          template:
            spec:
              restartPolicy: Never
              containers: [{name: c, image: "app@sha256:0123"}]
              volumes: [{name: v, configMap: {name: cfg}}]
    ---
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: db}
    spec:
      serviceName: db
      selector: {matchLabels: {app: db}}
      template:
        metadata: {labels: {app: db}}
        spec:
          containers: [{name: c, image: "digested@sha256:0123"}]
      volumeClaimTemplates:
        - metadata: {name: data}
          spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
    ---
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata: {name: web}
    spec:
      maxUnavailable: 1
      selector: {matchLabels: {app: web}}
    ---
    apiVersion: v1
    kind: Namespace
    metadata: {name: ns1}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec:
      selector: {app: web}
      ports: [{port: 80}]
"""


@pytest.fixture
def zoo(tmp_path: Path) -> Path:
    """A base, a component and an overlay using every supported feature."""
    write(
        tmp_path,
        {
            "base/kustomization.yaml": """
                resources: [app.yaml]
                configMapGenerator:
                  - name: cfg
                    literals: [A=1, "B=<x>&y"]
                    files: [conf.txt, renamed=other.txt]
            """,
            "base/app.yaml": DEPLOYMENT,
            "base/conf.txt": "line one\nline two\n",
            "base/other.txt": "other",
            "comp/kustomization.yaml": """
                apiVersion: kustomize.config.k8s.io/v1alpha1
                kind: Component
                configMapGenerator:
                  - {name: cfg, behavior: merge, literals: [C=3]}
                patches:
                  - path: containers.yaml
            """,
            "comp/containers.yaml": """
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: web}
                spec:
                  template:
                    spec:
                      containers:
                        - {name: b, image: app}
                        - name: new
                          image: app
                        - name: a
                          env: [{name: Z, value: z}, {name: X, value: "2"}]
                          args: [--flag]
            """,
            "overlay/kustomization.yaml": """
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                namespace: ns1
                resources: [../base]
                components: [../comp]
                configMapGenerator:
                  - {name: cfg, behavior: merge, literals: [D=4]}
                labels:
                  - pairs: {part: x}
                    includeTemplates: true
                  - pairs: {team: ui}
                patches:
                  - path: pdb.yaml
                images:
                  - {name: app, newName: reg.example/app, newTag: "1.2"}
                  - {name: localhost:5000/other, newTag: "2.0"}
                  - {name: digested, newName: reg.example/digested}
            """,
            "overlay/pdb.yaml": """
                apiVersion: policy/v1
                kind: PodDisruptionBudget
                metadata: {name: web}
                spec:
                  maxUnavailable: null
                  minAvailable: 66%
            """,
        },
    )
    return tmp_path / "overlay"


def test_zoo_renders_every_feature(zoo: Path) -> None:
    objects = build(zoo)
    order = [(obj["kind"], obj["metadata"]["name"]) for obj in objects]
    data = {
        "A": "1",
        "B": "<x>&y",
        "C": "3",
        "D": "4",
        "conf.txt": "line one\nline two\n",
        "renamed": "other",
    }
    cm_name = f"cfg-{config_map_hash(data)}"
    assert order == [
        ("Namespace", "ns1"),
        ("ConfigMap", cm_name),
        ("Service", "web"),
        ("Deployment", "web"),
        ("StatefulSet", "db"),
        ("CronJob", "cj"),
        ("PodDisruptionBudget", "web"),
    ]
    by_kind = {obj["kind"]: obj for obj in objects}
    assert by_kind["ConfigMap"]["data"] == data
    assert "namespace" not in by_kind["Namespace"]["metadata"]
    assert {obj["metadata"].get("namespace") for obj in objects} == {None, "ns1"}
    web = by_kind["Deployment"]["spec"]["template"]
    assert web["metadata"]["labels"] == {"app": "web", "part": "x"}
    assert by_kind["Deployment"]["metadata"]["labels"] == {"part": "x", "team": "ui"}
    assert by_kind["Deployment"]["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    first, second, third = web["spec"]["containers"]
    assert (first["name"], first["image"]) == ("b", "reg.example/app:1.2")
    assert (second["name"], second["image"]) == ("new", "reg.example/app:1.2")
    assert third["name"] == "a"
    assert third["args"] == ["--flag"]
    assert [e["name"] for e in third["env"]] == ["Z", "X", "Y"]
    assert third["env"][1]["value"] == "2"
    assert third["env"][2]["valueFrom"]["configMapKeyRef"]["name"] == cm_name
    assert third["envFrom"][0]["configMapRef"]["name"] == cm_name
    volumes = web["spec"]["volumes"]
    assert volumes[0]["configMap"]["name"] == cm_name
    assert volumes[1]["projected"]["sources"][0]["configMap"]["name"] == cm_name
    cron = by_kind["CronJob"]["spec"]["jobTemplate"]
    assert cron["metadata"]["labels"] == {"part": "x"}
    assert cron["spec"]["template"]["metadata"]["labels"] == {"part": "x"}
    assert cron["spec"]["template"]["spec"]["containers"][0]["image"] == "reg.example/app:1.2"
    db = by_kind["StatefulSet"]["spec"]
    assert db["template"]["spec"]["containers"][0]["image"] == "reg.example/digested@sha256:0123"
    claim = db["volumeClaimTemplates"][0]
    assert claim["metadata"]["labels"] == {"part": "x"}
    assert by_kind["PodDisruptionBudget"]["spec"] == {
        "minAvailable": "66%",
        "selector": {"matchLabels": {"app": "web"}},
    }


@needs_kubectl
def test_zoo_matches_kubectl(zoo: Path) -> None:
    assert build(zoo) == kubectl_kustomize(zoo)


@needs_kubectl
@pytest.mark.parametrize("variant", variants(), ids=lambda v: v.name)
def test_every_variant_matches_kubectl(variant: Variant, tmp_path: Path) -> None:
    directory = materialize(variant, tmp_path)
    assert build(directory) == kubectl_kustomize(directory)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # Suffixes computed by kubectl v1.32 (kustomize v5.5).
        ({"A": "1"}, "89g4tffbfk"),
        ({"A": "1", "B": "<x>&y", "C": "3", "D": "4"}, "24496h8g52"),
    ],
)
def test_config_map_hash_is_kustomizes(data: dict[str, str], expected: str) -> None:
    assert config_map_hash(data) == expected


@pytest.mark.parametrize(
    ("image", "parts"),
    [
        ("app", ("app", "", "")),
        ("app:1.0", ("app", "1.0", "")),
        ("localhost:5000/team/app", ("localhost:5000/team/app", "", "")),
        ("localhost:5000/app:2", ("localhost:5000/app", "2", "")),
        ("app:1@sha256:ab", ("app", "1", "sha256:ab")),
    ],
)
def test_split_image(image: str, parts: tuple[str, str, str]) -> None:
    assert split_image(image) == parts


def test_strategic_merge_semantics() -> None:
    target = {"spec": {"a": 1, "b": {"c": 2}, "args": ["x"], "volumes": [{"name": "v", "x": 1}]}}
    patch = {"spec": {"a": None, "b": {"d": 3}, "args": ["y"], "volumes": [{"name": "w"}]}}
    assert strategic_merge(target, patch) == {
        "spec": {
            "b": {"c": 2, "d": 3},
            "args": ["y"],
            "volumes": [{"name": "w"}, {"name": "v", "x": 1}],
        }
    }
    assert target["spec"]["a"] == 1, "the target is not modified"


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"ports": [{"containerPort": 1}]}, "not supported"),
        ({"$patch": "delete"}, "directives"),
        ({"containers": [{"image": "x"}]}, "needs 'name'"),
    ],
)
def test_strategic_merge_refuses_what_it_does_not_implement(
    patch: dict[str, Any], message: str
) -> None:
    with pytest.raises(KustomizeError, match=message):
        strategic_merge({}, patch)


RESOURCE = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"kustomization.yaml": "namePrefix: a-\n"}, "unsupported fields"),
        ({"kustomization.yaml": "kind: Component\n"}, "expected kind Kustomization"),
        ({"kustomization.yaml": "apiVersion: v1\n"}, "apiVersion"),
        ({"kustomization.yaml": "resources: [missing.yaml]\n"}, "does not exist"),
        ({"kustomization.yaml": "resources: [../outside.yaml]\n"}, "outside"),
        (
            {"kustomization.yaml": "resources: [a.yaml, a.yaml]\n", "a.yaml": RESOURCE},
            "duplicate",
        ),
        (
            {"kustomization.yaml": "configMapGenerator: [{name: c, literals: [\"A='1'\"]}]\n"},
            "do not quote",
        ),
        ({"kustomization.yaml": "configMapGenerator: [{name: c, literals: [A]}]\n"}, "KEY=VALUE"),
        (
            {"kustomization.yaml": "configMapGenerator: [{name: c, behavior: merge}]\n"},
            "no generated ConfigMap",
        ),
        (
            {"kustomization.yaml": "configMapGenerator: [{name: c, behavior: replace}]\n"},
            "unsupported behavior",
        ),
        (
            {"kustomization.yaml": "configMapGenerator: [{name: c, envs: [a.env]}]\n"},
            "unsupported generator fields",
        ),
        (
            {"kustomization.yaml": "patches: [{path: p.yaml}]\n", "p.yaml": RESOURCE},
            "no unique target",
        ),
        (
            {"kustomization.yaml": "patches: [{patch: 'x'}]\n"},
            "only `patches",
        ),
        ({"kustomization.yaml": "labels: [{pairs: {a: b}, includeSelectors: true}]\n"}, "labels"),
        ({"kustomization.yaml": "labels: [{pairs: {a: true}}]\n"}, "quote label values"),
        ({"kustomization.yaml": "images: [{name: a, digest: 'sha256:1'}]\n"}, "images"),
        ({"kustomization.yaml": "resources: x\n"}, "list of strings"),
        ({"kustomization.yaml": "resources: [a.yaml]\n", "a.yaml": "- 1\n"}, "mapping"),
        ({}, "no kustomization.yaml"),
    ],
)
def test_refuses_unsupported_or_inconsistent_input(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    (tmp_path / "outside.yaml").write_text(RESOURCE)
    root = write(tmp_path / "k", files)
    root.mkdir(exist_ok=True)
    with pytest.raises(KustomizeError, match=message):
        build(root)


def test_cli_prints_yaml_and_reports_errors(
    zoo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert render.main([str(zoo)]) == 0
    printed = parse_yaml(capsys.readouterr().out)
    assert printed == build(zoo)
    assert render.main([str(tmp_path / "nowhere")]) == 1
    assert "no kustomization.yaml" in capsys.readouterr().err
