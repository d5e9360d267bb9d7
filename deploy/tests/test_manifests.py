"""Every overlay and component combination renders, validates against the Kubernetes schemas
and passes the policies an SRE review asks for."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from deploy.k8s.render import Object, load_documents, parse_yaml, split_image
from deploy.tests.manifests import (
    APP_IMAGE,
    K8S,
    NAMESPACE,
    OVERLAYS,
    PodTemplate,
    Variant,
    config_map,
    containers,
    env_value,
    named,
    of_kind,
    pod_templates,
    selector_matches,
    variants,
    walk,
)
from gateway import config as gateway_config
from kernel import settings as settings_module
from kernel.grpc_server import LIVENESS
from kernel.settings import DEFAULT_GRPC_PORTS, DEFAULT_METRICS_PORTS, SERVICE_NAMES

# The oldest Kubernetes minor these manifests support (native gRPC probes, matchLabelKeys,
# unhealthyPodEvictionPolicy, CronJob timeZone) and the newest one the schemas know.
KUBERNETES_VERSIONS = ("1.31", kubernetes_validate.utils.latest_version())
VARIANTS = variants()
DOCS = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
RESTORE_JOB = K8S / "components" / "postgres-backup" / "restore-job.yaml"


@pytest.fixture(params=VARIANTS, ids=[variant.name for variant in VARIANTS])
def objects(request: pytest.FixtureRequest, rendered: dict[str, list[Object]]) -> list[Object]:
    """The rendered objects of one variant."""
    variant: Variant = request.param
    return rendered[variant.name]


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest, rendered: dict[str, list[Object]]) -> list[Object]:
    """The rendered objects of one overlay as shipped."""
    return rendered[str(request.param)]


def app_containers(objects: list[Object]) -> list[tuple[PodTemplate, Object]]:
    """Containers running the Unpuzzle image."""
    return [
        (template, container)
        for template in pod_templates(objects)
        for container in containers(template.spec)
        if container["image"].startswith(f"{APP_IMAGE}:")
    ]


def test_variants_cover_every_overlay_and_component() -> None:
    names = {variant.name for variant in VARIANTS}
    assert {"dev", "prod"} <= names
    covered = {c for variant in VARIANTS for c in variant.extra}
    assert covered >= {"otel-collector", "postgres-backup", "postgres", "redis"}


# --- Schemas -------------------------------------------------------------------------------

_validated: set[str] = set()


def schema_errors(obj: Object) -> list[str]:
    """Validation errors of one object against every supported Kubernetes version (strict)."""
    canonical = json.dumps(obj, sort_keys=True)
    if canonical in _validated:
        return []
    errors = []
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(part) for part in exc.path)
            errors.append(f"{obj['kind']}/{obj['metadata']['name']} ({version}) {path}: {exc}")
    if not errors:
        _validated.add(canonical)
    return errors


def test_every_object_validates_against_the_kubernetes_schemas(objects: list[Object]) -> None:
    assert [error for obj in objects for error in schema_errors(obj)] == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["spec"]["template"]["spec"].update(containerz=[]),
        lambda d: d["spec"]["template"]["spec"]["containers"][0].update(ports=[{"port": 1}]),
        lambda d: d["spec"].update(replicas="three"),
    ],
    ids=["unknown-field", "missing-required", "wrong-type"],
)
def test_schema_validation_catches_mistakes(overlay: list[Object], mutate: Any) -> None:
    deployment = json.loads(json.dumps(named(overlay, "Deployment", "course")))
    mutate(deployment)
    assert schema_errors(deployment) != []


# --- Containers ----------------------------------------------------------------------------


def effective(template: PodTemplate, container: Object, field: str) -> Any:
    """A security setting of the container, falling back to the pod's."""
    own = (container.get("securityContext") or {}).get(field)
    return own if own is not None else (template.spec.get("securityContext") or {}).get(field)


def hardening_violations(template: PodTemplate, container: Object) -> list[str]:
    """What a container lacks of the required resources and security settings."""
    where = f"{template.ident}/{container['name']}"
    problems = []
    resources = container.get("resources") or {}
    for section in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            if resource not in (resources.get(section) or {}):
                problems.append(f"{where}: no {section}.{resource}")
    security = container.get("securityContext") or {}
    if effective(template, container, "runAsNonRoot") is not True:
        problems.append(f"{where}: runAsNonRoot is not true")
    if effective(template, container, "runAsUser") in (None, 0):
        problems.append(f"{where}: no non-zero runAsUser")
    if security.get("readOnlyRootFilesystem") is not True:
        problems.append(f"{where}: root filesystem is writable")
    if security.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{where}: privilege escalation allowed")
    if (security.get("capabilities") or {}).get("drop") != ["ALL"]:
        problems.append(f"{where}: capabilities not dropped")
    if security.get("capabilities", {}).get("add"):
        problems.append(f"{where}: capabilities added")
    if (effective(template, container, "seccompProfile") or {}).get("type") != "RuntimeDefault":
        problems.append(f"{where}: seccomp profile is not RuntimeDefault")
    if security.get("privileged"):
        problems.append(f"{where}: privileged")
    return problems


def test_every_container_has_limits_and_is_hardened(objects: list[Object]) -> None:
    problems = [
        problem
        for template in pod_templates(objects)
        for container in containers(template.spec)
        for problem in hardening_violations(template, container)
    ]
    assert problems == []


def test_hardening_check_catches_a_weak_container(overlay: list[Object]) -> None:
    template = next(t for t in pod_templates(overlay) if t.name == "course")
    weak = {"name": "weak", "image": "x:1", "securityContext": {"runAsUser": 0}}
    assert len(hardening_violations(template, weak)) >= 6


def test_long_running_containers_have_readiness_and_liveness_probes(objects: list[Object]) -> None:
    missing = [
        f"{template.ident}/{container['name']}: {probe}"
        for template in pod_templates(objects)
        if template.long_running
        for container in template.spec["containers"]
        for probe in ("readinessProbe", "livenessProbe")
        if probe not in container
    ]
    assert missing == []


def test_probes_target_declared_ports(objects: list[Object]) -> None:
    wrong = []
    for template in pod_templates(objects):
        for container in containers(template.spec):
            ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                probe = container.get(kind) or {}
                handler = probe.get("grpc") or probe.get("httpGet") or probe.get("tcpSocket")
                if handler is None:
                    continue
                port = handler["port"]
                if port not in ports and port not in ports.values():
                    wrong.append(f"{template.ident}/{container['name']} {kind} port {port}")
    assert wrong == []


def test_grpc_services_use_native_grpc_probes_and_the_gateway_http(overlay: list[Object]) -> None:
    for name in SERVICE_NAMES:
        container = named(overlay, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        # Readiness follows the dependencies (overall health); liveness only the process.
        assert container["readinessProbe"]["grpc"] == {"port": DEFAULT_GRPC_PORTS[name]}
        assert container["livenessProbe"]["grpc"] == {
            "port": DEFAULT_GRPC_PORTS[name],
            "service": LIVENESS,
        }
    gateway = named(overlay, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0]
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_every_container_has_a_writable_tmp_and_nothing_else_shared(
    objects: list[Object],
) -> None:
    problems = []
    for template in pod_templates(objects):
        volumes = {volume["name"]: volume for volume in template.spec.get("volumes", [])}
        for container in containers(template.spec):
            mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
            tmp = mounts.get("/tmp")
            if tmp is None or "emptyDir" not in volumes.get(tmp["name"], {}):
                problems.append(f"{template.ident}/{container['name']}: no emptyDir on /tmp")
            for volume in volumes.values():
                if "hostPath" in volume:
                    problems.append(f"{template.ident}: hostPath volume {volume['name']}")
    assert problems == []


def test_no_pod_mounts_a_service_account_token(objects: list[Object]) -> None:
    mounting = [
        t.ident
        for t in pod_templates(objects)
        if t.spec.get("automountServiceAccountToken") is not False
    ]
    assert mounting == []


# --- Images --------------------------------------------------------------------------------


def image_is_pinned(image: str) -> bool:
    """A digest, or an explicit tag other than `latest`."""
    name, tag, digest = split_image(image)
    if not name or name != name.lower():
        return False
    if digest:
        return re.fullmatch(r"sha256:[0-9a-f]{64}", digest) is not None
    return bool(tag) and tag != "latest"


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("nats:2.15.1", True),
        ("localhost:5000/app:1", True),
        (f"app@sha256:{'a' * 64}", True),
        ("nats", False),
        ("nats:latest", False),
        ("localhost:5000/app", False),
        ("app@sha256:abc", False),
    ],
)
def test_pinning_rule(image: str, pinned: bool) -> None:
    assert image_is_pinned(image) is pinned


def test_every_image_is_pinned(objects: list[Object]) -> None:
    unpinned = [
        f"{template.ident}/{container['name']}: {container['image']}"
        for template in pod_templates(objects)
        for container in containers(template.spec)
        if not image_is_pinned(container["image"])
    ]
    assert unpinned == []


def test_one_release_of_the_application_image(objects: list[Object]) -> None:
    images = {container["image"] for _, container in app_containers(objects)}
    assert len(images) == 1, images


# --- Workloads, Services, budgets, autoscalers -----------------------------------------------


def test_every_workload_has_one_pdb_and_a_service(objects: list[Object]) -> None:
    pdbs = of_kind(objects, "PodDisruptionBudget")
    services = of_kind(objects, "Service")
    problems = []
    for template in pod_templates(objects):
        if not template.long_running:
            continue
        covering = [p for p in pdbs if selector_matches(p["spec"]["selector"], template.labels)]
        if len(covering) != 1:
            problems.append(f"{template.ident}: {len(covering)} PodDisruptionBudgets")
        if not any(
            selector_matches({"matchLabels": s["spec"].get("selector")}, template.labels)
            for s in services
        ):
            problems.append(f"{template.ident}: no Service")
    assert problems == []


def test_every_service_and_pdb_selects_pods_on_declared_ports(objects: list[Object]) -> None:
    templates = pod_templates(objects)
    problems = []
    for service in of_kind(objects, "Service"):
        selector = {"matchLabels": service["spec"].get("selector")}
        selected = [t for t in templates if selector_matches(selector, t.labels)]
        if not selected:
            problems.append(f"Service/{service['metadata']['name']} selects no pod")
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            for template in selected:
                declared = {
                    p.get("name"): p["containerPort"]
                    for c in containers(template.spec)
                    for p in c.get("ports", [])
                }
                if target not in declared and target not in declared.values():
                    problems.append(f"Service/{service['metadata']['name']}: {template.ident}")
    for pdb in of_kind(objects, "PodDisruptionBudget"):
        if not any(selector_matches(pdb["spec"]["selector"], t.labels) for t in templates):
            problems.append(f"PodDisruptionBudget/{pdb['metadata']['name']} selects no pod")
    assert problems == []


def test_grpc_services_are_headless_for_client_side_round_robin(overlay: list[Object]) -> None:
    for name in SERVICE_NAMES:
        assert named(overlay, "Service", name)["spec"].get("clusterIP") == "None"


def test_ports_agree_with_the_settings_defaults(overlay: list[Object]) -> None:
    for name in SERVICE_NAMES:
        container = named(overlay, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        assert ports == {"grpc": DEFAULT_GRPC_PORTS[name], "metrics": DEFAULT_METRICS_PORTS[name]}
        assert env_value(overlay, container, f"{name.upper()}_PORT") is None
    gateway = named(overlay, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0]
    assert gateway["ports"] == [{"name": "http", "containerPort": 8080}]
    assert env_value(overlay, gateway, "GATEWAY_PORT") == "8080"


def test_configured_addresses_name_existing_services(objects: list[Object]) -> None:
    data = config_map(objects, "unpuzzle-config")["data"]
    namespace = named(objects, "Deployment", "gateway")["metadata"]["namespace"]
    addresses = {key: value for key, value in data.items() if key.endswith("_SERVICE_ADDR")}
    assert set(addresses) == {f"{name.upper()}_SERVICE_ADDR" for name in SERVICE_NAMES}
    urls = {"NATS_URL": data["NATS_URL"]}
    if "OTEL_EXPORTER_OTLP_ENDPOINT" in data:
        urls["OTEL_EXPORTER_OTLP_ENDPOINT"] = data["OTEL_EXPORTER_OTLP_ENDPOINT"]
    for key, value in {**addresses, **urls}.items():
        match = re.fullmatch(
            r"(?P<scheme>dns:///|nats://|http://)(?P<svc>[a-z0-9-]+)\.(?P<ns>[a-z0-9-]+)"
            r"\.svc\.cluster\.local:(?P<port>\d+)",
            value,
        )
        assert match is not None, f"{key}={value}"
        assert match["ns"] == namespace, f"{key} names namespace {match['ns']}"
        service = named(objects, "Service", match["svc"])
        assert int(match["port"]) in [p["port"] for p in service["spec"]["ports"]], key
        if match["scheme"] == "dns:///":
            assert service["spec"].get("clusterIP") == "None", f"{key}: Service is not headless"


def test_autoscalers_target_existing_deployments_and_own_their_replicas(
    objects: list[Object],
) -> None:
    problems = []
    for hpa in of_kind(objects, "HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        targets = [
            obj
            for obj in of_kind(objects, ref["kind"])
            if obj["metadata"]["name"] == ref["name"] and obj["apiVersion"] == ref["apiVersion"]
        ]
        if len(targets) != 1:
            problems.append(f"HPA/{hpa['metadata']['name']}: target {ref} not rendered")
        elif "replicas" in targets[0]["spec"]:
            problems.append(f"HPA/{hpa['metadata']['name']}: the Deployment sets replicas")
        if not 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]:
            problems.append(f"HPA/{hpa['metadata']['name']}: bad bounds")
    scaled = {
        hpa["spec"]["scaleTargetRef"]["name"] for hpa in of_kind(objects, "HorizontalPodAutoscaler")
    }
    assert scaled >= {*SERVICE_NAMES, "gateway"}
    assert problems == []


@pytest.mark.parametrize(("name", "min_replicas"), [("dev", 1), ("prod", 3)])
def test_overlay_sizes(rendered: dict[str, list[Object]], name: str, min_replicas: int) -> None:
    objects = rendered[name]
    for hpa in of_kind(objects, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] == min_replicas
    pdbs = {p["metadata"]["name"]: p["spec"] for p in of_kind(objects, "PodDisruptionBudget")}
    for component in (*SERVICE_NAMES, "gateway"):
        if name == "prod":
            assert "minAvailable" in pdbs[component], component
            assert "maxUnavailable" not in pdbs[component], component
        else:
            assert pdbs[component]["maxUnavailable"] == 1, component


def test_deployments_spread_over_zones_and_nodes(overlay: list[Object]) -> None:
    for name in (*SERVICE_NAMES, "gateway"):
        template = named(overlay, "Deployment", name)["spec"]["template"]
        constraints = template["spec"]["topologySpreadConstraints"]
        keys = {c["topologyKey"] for c in constraints}
        assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
        for constraint in constraints:
            assert selector_matches(constraint["labelSelector"], template["metadata"]["labels"])


def prestop_seconds(container: Object) -> float:
    command = ((container.get("lifecycle") or {}).get("preStop") or {}).get("exec", {})
    argv = command.get("command") or []
    return float(argv[1]) if argv[:1] == ["sleep"] else 0.0


def test_termination_grace_covers_drain_and_grace(objects: list[Object]) -> None:
    short = []
    for template, container in app_containers(objects):
        if not template.long_running:
            continue
        drain = float(env_value(objects, container, "SHUTDOWN_DRAIN_SECONDS") or 1)
        grace = float(env_value(objects, container, "SHUTDOWN_GRACE_SECONDS") or 3)
        # The gRPC services drain themselves; the gateway (uvicorn) relies on its preStop sleep.
        drains = container["args"][0] in SERVICE_NAMES
        needed = prestop_seconds(container) + (drain if drains else 0) + grace
        if not (drains or prestop_seconds(container) >= drain):
            short.append(f"{template.ident}: no drain before SIGTERM")
        if template.spec["terminationGracePeriodSeconds"] < needed + 2:
            short.append(f"{template.ident}: {needed} s needed")
    assert short == []


# --- Configuration and references --------------------------------------------------------


class RecordingEnviron(dict[str, str]):
    """os.environ stand-in remembering every variable name looked up."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


def settings_variables(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The environment variables the processes read (kernel/settings.py, gateway/config.py)."""
    recorder = RecordingEnviron()
    monkeypatch.setattr(os, "environ", recorder)
    settings_module.load_settings()
    gateway_config.load_edge_settings()
    monkeypatch.undo()
    return recorder.read


def test_every_variable_given_to_the_processes_is_read_by_the_settings(
    objects: list[Object], monkeypatch: pytest.MonkeyPatch
) -> None:
    known = settings_variables(monkeypatch)
    assert {"DATABASE_URL", "JWT_PUBLIC_KEYS_FILE", "CORS_ALLOWED_ORIGINS"} <= known
    given = set()
    for _, container in app_containers(objects):
        given |= {entry["name"] for entry in container.get("env", [])}
        for source in container.get("envFrom", []):
            given |= set(named(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
    assert sorted(given - known) == []


def test_config_map_and_service_account_references_resolve(objects: list[Object]) -> None:
    config_maps = {
        cm["metadata"]["name"]: cm.get("data", {}) for cm in of_kind(objects, "ConfigMap")
    }
    accounts = {sa["metadata"]["name"] for sa in of_kind(objects, "ServiceAccount")}
    claims = {pvc["metadata"]["name"] for pvc in of_kind(objects, "PersistentVolumeClaim")}
    problems = []
    for template in pod_templates(objects):
        if template.spec.get("serviceAccountName") not in accounts:
            problems.append(f"{template.ident}: ServiceAccount missing")
        for key, value in walk(template.spec):
            if key in {"configMapRef", "configMap", "configMapKeyRef"}:
                if value["name"] not in config_maps:
                    problems.append(f"{template.ident}: ConfigMap {value['name']} missing")
                elif "key" in value and value["key"] not in config_maps[value["name"]]:
                    problems.append(f"{template.ident}: key {value['key']} missing")
            if key == "persistentVolumeClaim" and value["claimName"] not in claims:
                problems.append(f"{template.ident}: PVC {value['claimName']} missing")
    assert problems == []


def referenced_secrets(objects: list[Object]) -> dict[str, set[str]]:
    """Secret name -> keys the pods (and the Ingress) need; "*" for a whole-Secret mount."""
    secrets: dict[str, set[str]] = {}
    for template in pod_templates(objects):
        for key, value in walk(template.spec):
            if key == "secretKeyRef":
                secrets.setdefault(value["name"], set()).add(value["key"])
            if key == "secret":
                items = value.get("items")
                keys = {item["key"] for item in items} if items else {"*"}
                secrets.setdefault(value["secretName"], set()).update(keys)
    for ingress in of_kind(objects, "Ingress"):
        for tls in ingress["spec"].get("tls", []):
            secrets.setdefault(tls["secretName"], set()).add("*")
    return secrets


def test_no_secret_values_are_rendered(objects: list[Object]) -> None:
    assert of_kind(objects, "Secret") == []


def secret_commands(text: str) -> list[str]:
    """`kubectl create secret` commands of a document, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line for line in joined.splitlines() if "create secret" in line]


def test_every_secret_the_manifests_need_is_documented(objects: list[Object]) -> None:
    commands = secret_commands(DOCS.read_text())
    missing = []
    for secret, keys in referenced_secrets(objects).items():
        creating = [c for c in commands if re.search(rf"\b{re.escape(secret)}\b", c)]
        if not creating:
            missing.append(secret)
            continue
        whole_directory = any(re.search(r"--from-file=\S+/(\s|$)", c) for c in creating)
        for key in keys - {"*"}:
            named_key = any(re.search(rf"--from-\w+={re.escape(key)}\b", c) for c in creating)
            if not (named_key or whole_directory):
                missing.append(f"{secret}.{key}")
    assert missing == []


def test_every_object_is_labelled_and_namespaced(objects: list[Object]) -> None:
    problems = []
    for obj in objects:
        ident = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") != "unpuzzle":
            problems.append(f"{ident}: no part-of label")
        if obj["kind"] != "Namespace" and obj["metadata"].get("namespace") != NAMESPACE:
            problems.append(f"{ident}: namespace {obj['metadata'].get('namespace')}")
    assert [obj["metadata"]["name"] for obj in of_kind(objects, "Namespace")] == [NAMESPACE]
    assert problems == []


def test_migrations_run_as_one_job_per_service(overlay: list[Object]) -> None:
    jobs = {job["metadata"]["name"]: job for job in of_kind(overlay, "Job")}
    for name in SERVICE_NAMES:
        job = jobs[f"migrate-{name}"]
        assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate"
        container = job["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == ["migrate", name]
        database = next(e for e in container["env"] if e["name"] == "DATABASE_URL")
        assert database["valueFrom"]["secretKeyRef"]["key"] == name
    # `kubectl apply -l app.kubernetes.io/component=migrate` must bring the account along.
    account = named(overlay, "ServiceAccount", "migrate")
    assert account["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate"


def test_only_the_user_service_gets_the_signing_keys(overlay: list[Object]) -> None:
    for template in pod_templates(overlay):
        for volume in template.spec.get("volumes", []):
            secret = volume.get("secret")
            if secret is None or secret["secretName"] != "unpuzzle-jwt":
                continue
            if template.name != "user":
                assert secret["items"] == [{"key": "jwks.json", "path": "jwks.json"}]
    user = named(overlay, "Deployment", "user")["spec"]["template"]["spec"]["containers"][0]
    mounts = {m["mountPath"] for m in user["volumeMounts"]}
    assert env_value(overlay, user, "JWT_KEYS_DIR") in mounts
    public = env_value(overlay, user, "JWT_PUBLIC_KEYS_FILE")
    assert public is not None
    assert str(Path(public).parent) in mounts


# --- The restore Job (applied by hand, not rendered) ------------------------------------------


def test_restore_job_is_valid_and_hardened(rendered: dict[str, list[Object]]) -> None:
    (job,) = load_documents(RESTORE_JOB)
    job["metadata"]["namespace"] = NAMESPACE
    assert schema_errors(job) == []
    templates = pod_templates([job])
    assert [
        p for t in templates for c in containers(t.spec) for p in hardening_violations(t, c)
    ] == []
    with_backup = rendered["prod+postgres-backup"]
    backup = named(with_backup, "CronJob", "postgres-backup")["spec"]["jobTemplate"]["spec"]
    restore_spec = job["spec"]["template"]["spec"]
    assert restore_spec["volumes"] == backup["template"]["spec"]["volumes"]
    assert restore_spec["serviceAccountName"] == backup["template"]["spec"]["serviceAccountName"]
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert labels["unpuzzle.io/postgres-client"] == "true"


def test_backup_keeps_dumps_on_its_own_volume(rendered: dict[str, list[Object]]) -> None:
    objects = rendered["prod+postgres-backup"]
    cron = named(objects, "CronJob", "postgres-backup")["spec"]
    assert cron["concurrencyPolicy"] == "Forbid"
    script = cron["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert "pg_dump" in script
    assert "--format=custom" in script
    named(objects, "PersistentVolumeClaim", "postgres-backups")


def test_manifest_files_parse_as_yaml() -> None:
    for path in K8S.rglob("*.yaml"):
        assert parse_yaml(path.read_text()), path
