"""Typed helpers over rendered Kubernetes manifests: variants, pod templates, selectors."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from deploy.k8s.render import Object, build

K8S = Path(__file__).resolve().parents[1] / "k8s"
NAMESPACE = "unpuzzle"
OVERLAYS = ("dev", "prod")
APP_IMAGE = "registry.example.com/unpuzzle/backend"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


@dataclass(frozen=True)
class Variant:
    """An overlay, plus optional components it does not include itself."""

    overlay: str
    extra: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return "+".join((self.overlay, *self.extra))


def component_names() -> list[str]:
    """Every directory under deploy/k8s/components."""
    return sorted(path.name for path in (K8S / "components").iterdir() if path.is_dir())


def overlay_kustomization(overlay: str) -> Object:
    """The overlay's kustomization.yaml."""
    data = yaml.safe_load((K8S / "overlays" / overlay / "kustomization.yaml").read_text())
    assert isinstance(data, dict)
    return data


def overlay_components(overlay: str) -> list[str]:
    """Names of the components an overlay includes."""
    return [Path(entry).name for entry in overlay_kustomization(overlay).get("components", [])]


def variants() -> list[Variant]:
    """Each overlay alone, with each component it lacks, and with all of them."""
    result = []
    for overlay in OVERLAYS:
        missing = [c for c in component_names() if c not in overlay_components(overlay)]
        result.append(Variant(overlay))
        result.extend(Variant(overlay, (component,)) for component in missing)
        if len(missing) > 1:
            result.append(Variant(overlay, tuple(missing)))
    return result


def materialize(variant: Variant, workdir: Path) -> Path:
    """The directory to render: the overlay itself, or a copy with the extra components.

    Copies live in a copy of deploy/k8s under `workdir`, so the relative paths keep working and
    kubectl's rule that a kustomization reads files only below its own root still holds.
    """
    if not variant.extra:
        return K8S / "overlays" / variant.overlay
    tree = workdir / "k8s"
    if not tree.exists():
        shutil.copytree(K8S, tree, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    target = tree / "overlays" / variant.name.replace("+", "_")
    shutil.copytree(tree / "overlays" / variant.overlay, target)
    data = overlay_kustomization(variant.overlay)
    data["components"] = [
        *data.get("components", []),
        *(f"../../components/{c}" for c in variant.extra),
    ]
    (target / "kustomization.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return target


def render(variant: Variant, workdir: Path) -> list[Object]:
    """Render a variant with deploy/k8s/render.py."""
    return build(materialize(variant, workdir))


@dataclass(frozen=True)
class PodTemplate:
    """The pod template of a workload, with the workload that owns it."""

    kind: str
    name: str
    namespace: str
    labels: Mapping[str, str]
    spec: Object

    @property
    def ident(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def long_running(self) -> bool:
        """Serves until stopped (probes apply), as opposed to a Job that exits."""
        return self.kind in WORKLOAD_KINDS


def pod_templates(objects: list[Object]) -> list[PodTemplate]:
    """Every pod template in the objects (workloads, Jobs and CronJobs)."""
    templates = []
    for obj in objects:
        kind = obj["kind"]
        if kind in (*WORKLOAD_KINDS, "Job"):
            template = obj["spec"]["template"]
        elif kind == "CronJob":
            template = obj["spec"]["jobTemplate"]["spec"]["template"]
        else:
            continue
        templates.append(
            PodTemplate(
                kind=kind,
                name=obj["metadata"]["name"],
                namespace=obj["metadata"].get("namespace", ""),
                labels=template.get("metadata", {}).get("labels", {}),
                spec=template["spec"],
            )
        )
    return templates


def containers(spec: Object) -> list[Object]:
    """Init containers and containers of a pod spec."""
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def of_kind(objects: list[Object], kind: str) -> list[Object]:
    """The objects of one kind."""
    return [obj for obj in objects if obj["kind"] == kind]


def named(objects: list[Object], kind: str, name: str) -> Object:
    """The one object of this kind and name."""
    found = [obj for obj in of_kind(objects, kind) if obj["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def config_map(objects: list[Object], prefix: str) -> Object:
    """A generated ConfigMap by its name before the hash suffix."""
    found = [
        obj
        for obj in of_kind(objects, "ConfigMap")
        if obj["metadata"]["name"].rsplit("-", 1)[0] == prefix
    ]
    assert len(found) == 1, f"ConfigMap {prefix}-<hash>: {len(found)} found"
    return found[0]


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Kubernetes label selector semantics (matchLabels and matchExpressions)."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def env_value(objects: list[Object], container: Object, name: str) -> str | None:
    """A container's environment variable: its own `env`, else from an envFrom ConfigMap."""
    for entry in container.get("env", []):
        if entry["name"] == name:
            return entry.get("value")
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef")
        if ref is None:
            continue
        data = named(objects, "ConfigMap", ref["name"]).get("data", {})
        if name in data:
            return str(data[name])
    return None


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair in a nested structure."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)
