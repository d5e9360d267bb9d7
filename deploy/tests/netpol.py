"""A small NetworkPolicy evaluator: may traffic go from one endpoint to another on a port?

It follows the networking.k8s.io/v1 semantics: a pod selected by no policy of a direction is
open in that direction; once selected, only what some rule of a selecting policy allows passes,
and a connection needs both the source's egress and the destination's ingress. Endpoints outside
the rendered namespace (the ingress controller, Prometheus, DNS, managed databases) are modelled
by their labels or IP address, and their own policies are not evaluated.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from deploy.k8s.render import Object
from deploy.tests.manifests import containers, of_kind, pod_templates, selector_matches


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace, labels, named container ports) or an address outside the cluster."""

    name: str
    namespace: str = ""
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: Mapping[str, int] = field(default_factory=dict)
    ip: str | None = None

    @property
    def is_pod(self) -> bool:
        return self.ip is None


def namespace_labels(namespace: str) -> dict[str, str]:
    """The label every namespace carries automatically."""
    return {"kubernetes.io/metadata.name": namespace}


def external_pod(name: str, namespace: str, labels: Mapping[str, str]) -> Endpoint:
    """A pod in another namespace."""
    return Endpoint(name, namespace, namespace_labels(namespace), dict(labels))


def address(ip: str) -> Endpoint:
    """An address outside the cluster."""
    return Endpoint(ip, ip=ip)


def rendered_pods(objects: list[Object]) -> dict[str, Endpoint]:
    """One endpoint per pod template, by workload name."""
    pods = {}
    for template in pod_templates(objects):
        ports = {
            port["name"]: int(port["containerPort"])
            for container in containers(template.spec)
            for port in container.get("ports", [])
            if "name" in port
        }
        pods[template.name] = Endpoint(
            template.name,
            template.namespace,
            namespace_labels(template.namespace),
            dict(template.labels),
            ports,
        )
    return pods


def _peer_matches(peer: Mapping[str, Any], policy_namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        if other.ip is None:
            return False
        block = peer["ipBlock"]
        ip = ipaddress.ip_address(other.ip)
        excluded = any(ip in ipaddress.ip_network(cidr) for cidr in block.get("except", []))
        return ip in ipaddress.ip_network(block["cidr"]) and not excluded
    if not other.is_pod:
        return False
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], other.namespace_labels):
            return False
    elif other.namespace != policy_namespace:
        return False
    return "podSelector" not in peer or selector_matches(peer["podSelector"], other.labels)


def _port_matches(rules: list[Mapping[str, Any]], port: int, protocol: str, pod: Endpoint) -> bool:
    """`pod` is the destination: named ports resolve against its container ports."""
    if not rules:
        return True
    for rule in rules:
        if rule.get("protocol", "TCP") != protocol:
            continue
        wanted = rule.get("port")
        if wanted is None:
            return True
        number = pod.ports.get(wanted) if isinstance(wanted, str) else int(wanted)
        if number is not None and number <= port <= int(rule.get("endPort", number)):
            return True
    return False


def _policy_types(policy: Object) -> list[str]:
    spec = policy["spec"]
    if "policyTypes" in spec:
        return list(spec["policyTypes"])
    return ["Ingress", *(["Egress"] if "egress" in spec else [])]


def _direction_allows(
    policies: list[Object],
    subject: Endpoint,
    other: Endpoint,
    destination: Endpoint,
    direction: str,
    port: int,
    protocol: str,
) -> bool:
    """Whether `subject`'s policies of one direction let it talk to (or hear from) `other`."""
    if not subject.is_pod:
        return True
    selecting = [
        policy
        for policy in policies
        if policy["metadata"].get("namespace", "") == subject.namespace
        and direction in _policy_types(policy)
        and selector_matches(policy["spec"]["podSelector"], subject.labels)
    ]
    if not selecting:
        return True
    rules_key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    for policy in selecting:
        for rule in policy["spec"].get(rules_key, []):
            peers = rule.get(peers_key)
            peer_ok = not peers or any(
                _peer_matches(peer, subject.namespace, other) for peer in peers
            )
            if peer_ok and _port_matches(rule.get("ports", []), port, protocol, destination):
                return True
    return False


def allowed(
    objects: list[Object], source: Endpoint, destination: Endpoint, port: int, protocol: str = "TCP"
) -> bool:
    """Whether the NetworkPolicies let `source` open a connection to `destination`:`port`."""
    policies = of_kind(objects, "NetworkPolicy")
    egress = _direction_allows(policies, source, destination, destination, "Egress", port, protocol)
    ingress = _direction_allows(
        policies, destination, source, destination, "Ingress", port, protocol
    )
    return egress and ingress
