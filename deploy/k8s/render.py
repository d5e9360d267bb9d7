"""Render the subset of kustomize that deploy/k8s uses, in pure Python.

Operators apply these manifests with `kubectl apply -k`. This renderer exists so that `make test`
renders and validates every overlay on a machine that has only Python (no kubectl, no kustomize
binary). It implements exactly the kustomize v5 behaviour the manifests rely on and refuses every
other field, so a manifest cannot render differently here than under kubectl without a test
failing; deploy/tests cross-checks both renderings whenever kubectl is installed.

Supported kustomization fields: `resources` (files and directories), `components`, `namespace`,
`labels` (metadata and pod templates, never selectors), `configMapGenerator` (`literals`, `files`,
`behavior: create|merge`, content-hash name suffix and reference fix-up), `patches` (strategic
merge patch files, target found by kind and name) and `images` (`newName`, `newTag`).

    python -m deploy.k8s.render deploy/k8s/overlays/prod > prod.yaml
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Object = dict[str, Any]

KUSTOMIZATION_FILE = "kustomization.yaml"
API_VERSIONS = {
    "Kustomization": "kustomize.config.k8s.io/v1beta1",
    "Component": "kustomize.config.k8s.io/v1alpha1",
}
SUPPORTED_FIELDS = frozenset(
    {
        "apiVersion",
        "kind",
        "resources",
        "components",
        "namespace",
        "labels",
        "configMapGenerator",
        "patches",
        "images",
    }
)
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    }
)
# kustomize's "legacy" output order (api/resid/gvk.go): these kinds first, in this order, ...
ORDER_FIRST = (
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
)
# ... these last, and every other kind in between, ordered by group, version and kind.
ORDER_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
# Where `labels: [{includeTemplates: true}]` also writes (kustomize's templateLabels field specs).
TEMPLATE_LABEL_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Deployment": (("spec", "template", "metadata", "labels"),),
    "ReplicaSet": (("spec", "template", "metadata", "labels"),),
    "DaemonSet": (("spec", "template", "metadata", "labels"),),
    "ReplicationController": (("spec", "template", "metadata", "labels"),),
    "StatefulSet": (("spec", "template", "metadata", "labels"),),
    "Job": (("spec", "template", "metadata", "labels"),),
    "CronJob": (
        ("spec", "jobTemplate", "metadata", "labels"),
        ("spec", "jobTemplate", "spec", "template", "metadata", "labels"),
    ),
}
# Strategic merge: lists merged element by element on this key (from the Kubernetes API types).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
}
# Strategic merge: lists the API declares atomic, replaced whole by a patch (each checked against
# kubectl). Any other list in a patch is refused: its merge semantics are not implemented here.
REPLACED_LISTS = frozenset({"args", "command", "tls"})
_LITERAL = re.compile(r"^(?P<key>[-._a-zA-Z0-9]+)=(?P<value>.*)$", re.DOTALL)
_GO_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


class KustomizeError(ValueError):
    """A kustomization uses an unsupported feature or is inconsistent."""


@dataclass
class Resource:
    """One object being built, and whether it gets a content-hash name suffix at the end."""

    obj: Object
    hashed: bool = False

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def name(self) -> str:
        return str(self.obj.get("metadata", {}).get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.obj.get("metadata", {}).get("namespace", ""))

    @property
    def group(self) -> str:
        api_version = str(self.obj.get("apiVersion", ""))
        return api_version.split("/", maxsplit=1)[0] if "/" in api_version else ""

    def ident(self) -> tuple[str, str, str, str, str]:
        """(apiVersion, kind, namespace, name) plus group: what must be unique in a build."""
        return (self.group, str(self.obj.get("apiVersion")), self.kind, self.namespace, self.name)


@dataclass
class _Kustomization:
    root: Path
    kind: str
    data: Object = field(default_factory=dict)

    def strings(self, key: str) -> list[str]:
        value = self.data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise KustomizeError(f"{self.root}: `{key}` must be a list of strings")
        return list(value)

    def entries(self, key: str) -> list[Object]:
        value = self.data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise KustomizeError(f"{self.root}: `{key}` must be a list of mappings")
        return list(value)


def parse_yaml(text: str) -> list[Any]:
    """The non-empty documents of a YAML stream (libyaml's parser when PyYAML has it)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [document for document in yaml.load_all(text, Loader=loader) if document is not None]


def load_documents(path: Path) -> list[Object]:
    """The non-empty YAML documents of a file, each a mapping."""
    documents = []
    for document in parse_yaml(path.read_text(encoding="utf-8")):
        if not isinstance(document, dict):
            raise KustomizeError(f"{path}: every document must be a mapping")
        documents.append(document)
    return documents


def _read_kustomization(root: Path, expected_kind: str) -> _Kustomization:
    path = root / KUSTOMIZATION_FILE
    if not path.is_file():
        raise KustomizeError(f"{root}: no {KUSTOMIZATION_FILE}")
    documents = load_documents(path)
    if len(documents) != 1:
        raise KustomizeError(f"{path}: expected exactly one document")
    data = documents[0]
    unknown = sorted(set(data) - SUPPORTED_FIELDS)
    if unknown:
        raise KustomizeError(f"{path}: unsupported fields {unknown} (see deploy/k8s/render.py)")
    kind = data.get("kind", "Kustomization")
    if kind != expected_kind:
        raise KustomizeError(f"{path}: expected kind {expected_kind}, found {kind}")
    if data.get("apiVersion", API_VERSIONS[kind]) != API_VERSIONS[kind]:
        raise KustomizeError(f"{path}: apiVersion of a {kind} must be {API_VERSIONS[kind]}")
    return _Kustomization(root, kind, data)


def _inside(root: Path, relative: str) -> Path:
    """A file a kustomization names; like kustomize, it must not escape the kustomization root."""
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        raise KustomizeError(f"{root}: file {relative!r} is outside the kustomization root")
    return path


def _append(resources: list[Resource], new: Resource) -> None:
    if any(existing.ident() == new.ident() for existing in resources):
        raise KustomizeError(f"duplicate resource {new.kind}/{new.name}")
    resources.append(new)


def _accumulate(root: Path, resources: list[Resource], kind: str) -> list[Resource]:
    """kustomize's accumulateTarget: resources, generators, components, then transformers."""
    kustomization = _read_kustomization(root, kind)
    for entry in kustomization.strings("resources"):
        path = root / entry
        if path.is_dir():
            for resource in _accumulate(path, [], "Kustomization"):
                _append(resources, resource)
        elif path.is_file():
            for document in load_documents(_inside(root, entry)):
                _append(resources, Resource(document))
        else:
            raise KustomizeError(f"{root}: resource {entry!r} does not exist")
    _generate_config_maps(kustomization, resources)
    for entry in kustomization.strings("components"):
        _accumulate(root / entry, resources, "Component")
    _apply_patches(kustomization, resources)
    namespace = kustomization.data.get("namespace")
    if namespace is not None:
        _set_namespace(resources, str(namespace))
    _apply_labels(kustomization, resources)
    _apply_images(kustomization, resources)
    return resources


def _config_map_data(kustomization: _Kustomization, entry: Object) -> dict[str, str]:
    data: dict[str, str] = {}
    for literal in entry.get("literals") or []:
        match = _LITERAL.match(str(literal))
        if match is None:
            raise KustomizeError(f"{kustomization.root}: bad literal {literal!r} (KEY=VALUE)")
        value = match["value"]
        if value[:1] in {"'", '"'}:
            raise KustomizeError(f"{kustomization.root}: do not quote literal values: {literal!r}")
        data[match["key"]] = value
    for spec in entry.get("files") or []:
        key, _, relative = str(spec).rpartition("=")
        path = _inside(kustomization.root, relative)
        data[key or path.name] = path.read_text(encoding="utf-8")
    return data


def _generate_config_maps(kustomization: _Kustomization, resources: list[Resource]) -> None:
    for entry in kustomization.entries("configMapGenerator"):
        unknown = sorted(set(entry) - {"name", "literals", "files", "behavior"})
        if unknown:
            raise KustomizeError(f"{kustomization.root}: unsupported generator fields {unknown}")
        name = str(entry["name"])
        data = _config_map_data(kustomization, entry)
        behavior = entry.get("behavior", "create")
        if behavior == "create":
            cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
            _append(resources, Resource({**cm, "data": data}, hashed=True))
        elif behavior == "merge":
            targets = [r for r in resources if r.kind == "ConfigMap" and r.name == name]
            if len(targets) != 1 or not targets[0].hashed:
                raise KustomizeError(f"{kustomization.root}: no generated ConfigMap {name!r}")
            targets[0].obj.setdefault("data", {}).update(data)
        else:
            raise KustomizeError(f"{kustomization.root}: unsupported behavior {behavior!r}")


def strategic_merge(target: Any, patch: Any, key: str = "") -> Any:
    """Strategic merge patch of the subset used here (null deletes; keyed or atomic lists)."""
    if isinstance(patch, dict):
        if any(name.startswith("$") for name in patch):
            raise KustomizeError(f"patch directives are not supported: {sorted(patch)}")
        merged = dict(target) if isinstance(target, dict) else {}
        for name, value in patch.items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = strategic_merge(merged.get(name), value, name)
        return merged
    if isinstance(patch, list):
        if key in MERGE_KEYS:
            return _merge_keyed_list(target if isinstance(target, list) else [], patch, key)
        if key not in REPLACED_LISTS:
            raise KustomizeError(f"patching the list {key!r} is not supported by this renderer")
        return copy.deepcopy(patch)
    return copy.deepcopy(patch)


def _merge_keyed_list(target: list[Any], patch: list[Any], key: str) -> list[Any]:
    """kustomize's order: the patch's elements first (merged), then the target's others."""
    merge_key = MERGE_KEYS[key]
    by_key = {item.get(merge_key): item for item in target if isinstance(item, dict)}
    merged = []
    for item in patch:
        if not isinstance(item, dict) or merge_key not in item:
            raise KustomizeError(f"every element of {key!r} in a patch needs {merge_key!r}")
        merged.append(strategic_merge(by_key.get(item[merge_key], {}), item, ""))
    patched = {item[merge_key] for item in patch}
    merged.extend(
        copy.deepcopy(item)
        for item in target
        if not (isinstance(item, dict) and item.get(merge_key) in patched)
    )
    return merged


def _apply_patches(kustomization: _Kustomization, resources: list[Resource]) -> None:
    for entry in kustomization.entries("patches"):
        if set(entry) != {"path"}:
            raise KustomizeError(f"{kustomization.root}: only `patches: [{{path: ...}}]` works")
        path = _inside(kustomization.root, str(entry["path"]))
        documents = load_documents(path)
        if len(documents) != 1:
            raise KustomizeError(f"{path}: one strategic merge patch per file")
        patch = Resource(documents[0])
        matches = [
            resource
            for resource in resources
            if (resource.group, resource.kind, resource.name, resource.namespace)
            == (patch.group, patch.kind, patch.name, patch.namespace)
        ]
        if len(matches) != 1:
            raise KustomizeError(f"{path}: no unique target {patch.kind}/{patch.name}")
        body = {k: v for k, v in patch.obj.items() if k not in {"apiVersion", "kind"}}
        matches[0].obj = strategic_merge(matches[0].obj, body)


def _set_namespace(resources: list[Resource], namespace: str) -> None:
    for resource in resources:
        if resource.kind not in CLUSTER_SCOPED_KINDS:
            resource.obj.setdefault("metadata", {})["namespace"] = namespace


def _labels_at(obj: Object, path: tuple[str, ...]) -> dict[str, Any]:
    node = obj
    for name in path:
        child = node.get(name)
        if child is None:
            child = {}
            node[name] = child
        if not isinstance(child, dict):
            raise KustomizeError(f"cannot set labels under {'/'.join(path)}")
        node = child
    return node


def _apply_labels(kustomization: _Kustomization, resources: list[Resource]) -> None:
    for entry in kustomization.entries("labels"):
        unknown = sorted(set(entry) - {"pairs", "includeTemplates", "includeSelectors"})
        if unknown or entry.get("includeSelectors", False):
            raise KustomizeError(f"{kustomization.root}: labels support pairs/includeTemplates")
        pairs = entry.get("pairs") or {}
        if not all(isinstance(value, str) for value in pairs.values()):
            raise KustomizeError(f"{kustomization.root}: quote label values: {pairs}")
        for resource in resources:
            _labels_at(resource.obj, ("metadata", "labels")).update(pairs)
            if entry.get("includeTemplates", False):
                for path in TEMPLATE_LABEL_PATHS.get(resource.kind, ()):
                    _labels_at(resource.obj, path).update(pairs)
                if resource.kind == "StatefulSet":
                    for claim in resource.obj.get("spec", {}).get("volumeClaimTemplates") or []:
                        _labels_at(claim, ("metadata", "labels")).update(pairs)


def split_image(image: str) -> tuple[str, str, str]:
    """(name, tag, digest) of an image reference; tag and digest may be empty."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = ""
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    return name, tag, digest


def _containers(node: Any) -> Iterator[Object]:
    """Every container and init container anywhere in an object."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in {"containers", "initContainers"} and isinstance(value, list):
                yield from (item for item in value if isinstance(item, dict))
            else:
                yield from _containers(value)
    elif isinstance(node, list):
        for item in node:
            yield from _containers(item)


def _apply_images(kustomization: _Kustomization, resources: list[Resource]) -> None:
    for entry in kustomization.entries("images"):
        if set(entry) - {"name", "newName", "newTag"} or "name" not in entry:
            raise KustomizeError(f"{kustomization.root}: images support name/newName/newTag")
        for resource in resources:
            for container in _containers(resource.obj):
                name, tag, digest = split_image(str(container.get("image", "")))
                if name != entry["name"]:
                    continue
                name = str(entry.get("newName", name))
                if "newTag" in entry:  # like kustomize: a new tag replaces tag and digest
                    tag, digest = str(entry["newTag"]), ""
                reference = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
                container["image"] = reference


def config_map_hash(data: dict[str, str]) -> str:
    """kustomize's name suffix for a generated ConfigMap (api/hasher/hasher.go).

    kustomize looks the name up as a single field called "metadata/name", finds nothing and
    hashes an empty name, so the suffix depends on the data alone; mirrored here on purpose.
    """
    encoded = json.dumps(
        {"data": data, "kind": "ConfigMap", "name": ""},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    for char, escape in _GO_JSON_ESCAPES.items():
        encoded = encoded.replace(char, escape)
    digest = hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def _rename_config_map_references(node: Any, renamed: dict[tuple[str, str], str], ns: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in {"configMap", "configMapRef", "configMapKeyRef"} and isinstance(value, dict):
                new = renamed.get((ns, str(value.get("name"))))
                if new is not None:
                    value["name"] = new
            else:
                _rename_config_map_references(value, renamed, ns)
    elif isinstance(node, list):
        for item in node:
            _rename_config_map_references(item, renamed, ns)


def _add_hashes(resources: list[Resource]) -> None:
    """Suffix generated ConfigMaps with their content hash, then fix the references to them."""
    renamed: dict[tuple[str, str], str] = {}
    for resource in resources:
        if resource.hashed:
            new_name = f"{resource.name}-{config_map_hash(resource.obj.get('data') or {})}"
            renamed[(resource.namespace, resource.name)] = new_name
            resource.obj["metadata"]["name"] = new_name
    for resource in resources:
        if resource.kind != "ConfigMap":
            _rename_config_map_references(resource.obj, renamed, resource.namespace)


def _gvk_string(resource: Resource) -> str:
    api_version = str(resource.obj.get("apiVersion", ""))
    version = api_version.rsplit("/", maxsplit=1)[-1]
    return "_".join([resource.group or "~G", version or "~V", resource.kind or "~K"])


def _legacy_order(resource: Resource) -> tuple[int, str, str, str]:
    if resource.kind in ORDER_FIRST:
        rank = ORDER_FIRST.index(resource.kind) - len(ORDER_FIRST)
    elif resource.kind in ORDER_LAST:
        rank = ORDER_LAST.index(resource.kind) + 1
    else:
        rank = 0
    return (rank, _gvk_string(resource), resource.namespace, resource.name)


def build(path: Path) -> list[Object]:
    """Render the kustomization in `path` like `kubectl kustomize path` (legacy order)."""
    resources = _accumulate(path, [], "Kustomization")
    _add_hashes(resources)
    return [resource.obj for resource in sorted(resources, key=_legacy_order)]


def dump(objects: list[Object]) -> str:
    """Multi-document YAML, keys sorted like kustomize's output."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump_all(objects, Dumper=dumper, sort_keys=True, default_flow_style=False)


def main(argv: list[str] | None = None) -> int:
    """`python -m deploy.k8s.render DIR`: print the rendered manifests of a kustomization."""
    parser = argparse.ArgumentParser(prog="python -m deploy.k8s.render", description=__doc__)
    parser.add_argument("directory", type=Path, help="directory holding kustomization.yaml")
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(dump(build(args.directory)))
    except KustomizeError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
