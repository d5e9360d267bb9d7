"""NetworkPolicies: default deny, every pod covered, the edges that exist open, others closed."""

from __future__ import annotations

import pytest

from deploy.k8s.render import Object
from deploy.tests.manifests import (
    NAMESPACE,
    Variant,
    of_kind,
    pod_templates,
    selector_matches,
    variants,
)
from deploy.tests.netpol import Endpoint, address, allowed, external_pod, rendered_pods
from kernel.settings import DEFAULT_GRPC_PORTS, DEFAULT_METRICS_PORTS, SERVICE_NAMES

VARIANTS = variants()
INGRESS_CONTROLLER = external_pod(
    "ingress-nginx", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}
)
PROMETHEUS = external_pod("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"})
KUBE_DNS = external_pod("kube-dns", "kube-system", {"k8s-app": "kube-dns"})
STRANGER = external_pod("stranger", "default", {"app.kubernetes.io/name": "gateway"})
INTERNET = address("203.0.113.7")
DATASTORE_PORTS = {"postgres": 5432, "redis": 6379, "nats": 4222}

Edge = tuple[Endpoint, Endpoint, int]


@pytest.fixture(params=VARIANTS, ids=[v.name for v in VARIANTS])
def objects(request: pytest.FixtureRequest, rendered: dict[str, list[Object]]) -> list[Object]:
    """The rendered objects of one variant."""
    variant: Variant = request.param
    return rendered[variant.name]


def datastore(objects: list[Object], pods: dict[str, Endpoint], name: str) -> Endpoint:
    """The in-cluster pod of a data store, else the first address its egress policy allows."""
    if name in pods:
        return pods[name]
    (policy,) = [
        p
        for p in of_kind(objects, "NetworkPolicy")
        if p["metadata"]["name"] == f"allow-egress-external-{name}"
    ]
    cidr = policy["spec"]["egress"][0]["to"][0]["ipBlock"]["cidr"]
    return address(cidr.split("/")[0].rsplit(".", 1)[0] + ".10")


def required_edges(objects: list[Object]) -> list[Edge]:
    """Every connection the system makes."""
    pods = rendered_pods(objects)
    stores = {name: datastore(objects, pods, name) for name in DATASTORE_PORTS}
    gateway = pods["gateway"]
    edges: list[Edge] = [
        (INGRESS_CONTROLLER, gateway, 8080),
        (PROMETHEUS, gateway, 8080),
        (gateway, stores["redis"], 6379),
    ]
    for name in SERVICE_NAMES:
        service = pods[name]
        edges += [
            (gateway, service, DEFAULT_GRPC_PORTS[name]),
            (PROMETHEUS, service, DEFAULT_METRICS_PORTS[name]),
            *((service, stores[store], port) for store, port in DATASTORE_PORTS.items()),
            (pods[f"migrate-{name}"], stores["postgres"], 5432),
        ]
    edges.append((pods["jetstream-streams"], stores["nats"], 4222))
    if "nats" in pods:
        edges.append((pods["nats"], pods["nats"], 6222))
    if "otel-collector" in pods:
        edges += [(pods[n], pods["otel-collector"], 4317) for n in (*SERVICE_NAMES, "gateway")]
    edges += [(pods[n], stores["postgres"], 5432) for n in ("postgres-backup",) if n in pods]
    return edges


def forbidden_edges(objects: list[Object]) -> list[Edge]:
    """Connections nothing needs."""
    pods = rendered_pods(objects)
    stores = {name: datastore(objects, pods, name) for name in DATASTORE_PORTS}
    gateway, user, course = pods["gateway"], pods["user"], pods["course"]
    edges: list[Edge] = [
        (gateway, stores["postgres"], 5432),
        (gateway, stores["nats"], 4222),
        (user, course, DEFAULT_GRPC_PORTS["course"]),
        (course, user, DEFAULT_GRPC_PORTS["user"]),
        (INGRESS_CONTROLLER, user, DEFAULT_GRPC_PORTS["user"]),
        (PROMETHEUS, user, DEFAULT_GRPC_PORTS["user"]),
        (STRANGER, gateway, 8080),
        (STRANGER, course, DEFAULT_GRPC_PORTS["course"]),
        (pods["migrate-user"], stores["nats"], 4222),
        (pods["migrate-user"], stores["redis"], 6379),
        (pods["jetstream-streams"], stores["postgres"], 5432),
        *((pods[name], INTERNET, 443) for name in pods),
    ]
    if "postgres" in pods:
        edges.append((pods["postgres"], stores["redis"], 6379))
    return edges


def test_default_deny_selects_every_pod_in_both_directions(objects: list[Object]) -> None:
    deny = [
        p
        for p in of_kind(objects, "NetworkPolicy")
        if p["spec"]["podSelector"] == {}
        and "ingress" not in p["spec"]
        and "egress" not in p["spec"]
    ]
    assert len(deny) == 1
    assert sorted(deny[0]["spec"]["policyTypes"]) == ["Egress", "Ingress"]


def test_every_pod_is_selected_by_a_specific_allow_policy(objects: list[Object]) -> None:
    policies = [
        p
        for p in of_kind(objects, "NetworkPolicy")
        if p["spec"]["podSelector"] and ("ingress" in p["spec"] or "egress" in p["spec"])
    ]
    uncovered = [
        t.ident
        for t in pod_templates(objects)
        if not any(selector_matches(p["spec"]["podSelector"], t.labels) for p in policies)
    ]
    assert uncovered == []


def test_every_policy_and_peer_selects_rendered_pods(objects: list[Object]) -> None:
    labels = [t.labels for t in pod_templates(objects)]
    dangling = []
    for policy in of_kind(objects, "NetworkPolicy"):
        name = policy["metadata"]["name"]
        if not any(selector_matches(policy["spec"]["podSelector"], pod) for pod in labels):
            dangling.append(f"{name} selects no pod")
        for rule in (*policy["spec"].get("ingress", []), *policy["spec"].get("egress", [])):
            peers = (*rule.get("from", []), *rule.get("to", []))
            local = [p.get("podSelector") for p in peers if "namespaceSelector" not in p]
            for selector in [s for s in local if s is not None]:
                if not any(selector_matches(selector, pod) for pod in labels):
                    dangling.append(f"{name}: peer {selector} selects no pod")
    assert dangling == []


def test_the_edges_that_exist_are_open(objects: list[Object]) -> None:
    closed = [
        f"{src.name} -> {dst.name}:{port}"
        for src, dst, port in required_edges(objects)
        if not allowed(objects, src, dst, port)
    ]
    pods = rendered_pods(objects)
    closed += [
        f"{n} -> dns" for n, pod in pods.items() if not allowed(objects, pod, KUBE_DNS, 53, "UDP")
    ]
    assert closed == []


def test_every_other_edge_is_closed(objects: list[Object]) -> None:
    open_ = [
        f"{src.name} -> {dst.name}:{port}"
        for src, dst, port in forbidden_edges(objects)
        if allowed(objects, src, dst, port)
    ]
    assert open_ == []


def test_the_evaluator_sees_traffic_without_policies_as_open() -> None:
    pod = Endpoint("a", NAMESPACE, {}, {"app": "a"}, {"http": 80})
    other = Endpoint("b", NAMESPACE, {}, {"app": "b"}, {})
    assert allowed([], pod, other, 80)
    deny: Object = {
        "kind": "NetworkPolicy",
        "metadata": {"name": "deny", "namespace": NAMESPACE},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }
    assert not allowed([deny], other, pod, 80)
    allow: Object = {
        "kind": "NetworkPolicy",
        "metadata": {"name": "allow", "namespace": NAMESPACE},
        "spec": {
            "podSelector": {"matchLabels": {"app": "a"}},
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"app": "b"}}}],
                    "ports": [{"port": "http"}],
                }
            ],
        },
    }
    assert allowed([deny, allow], other, pod, 80)
    assert not allowed([deny, allow], other, pod, 81)
    assert not allowed([deny, allow], INTERNET, pod, 80)
