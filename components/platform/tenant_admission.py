"""What Kueue cannot gate in a tenant's namespace, refused by the API server: ValidatingAdmissionPolicies.

Native admission (admissionregistration.k8s.io/v1, CEL), no webhook to run: every API server of a
supported version enforces them. They fence the namespaces Kueue manages
(`kueue_config.TENANT_NAMESPACES`) and check, each refusal saying what to do instead:

- a pod that requests GPUs without Kueue's scheduling gate or the namespace's LocalQueue (one with an
  owner Kueue manages is not gated by Kueue's webhook), any pod bound to a node by hand, and that
  gate removed by anyone but Kueue;
- `NVIDIA_VISIBLE_DEVICES` set by hand, or any other `NVIDIA_*` variable in a container that
  requests no GPU: the NVIDIA runtime would hand it GPUs that no quota counted; and a pod that
  requests no GPU tolerating the GPU nodes' taints (there, an image's own variable would);
- a Kueue priority-class label outside the tenant's priority classes, or a prebuilt workload named;
- a Service with `spec.externalIPs` (CVE-2020-8554: it intercepts traffic to any address).

They judge what a tenant writes: pods, and the pod templates of Deployments, ReplicaSets,
StatefulSets, Jobs and CronJobs, so a bad template is refused when it is written. The cluster's own
controllers, Kueue and the administrators are trusted (`_TRUSTED`): the pods a controller makes come
from a template a tenant wrote and the policy checked, and Kueue must always be able to lift a gate or
a finalizer, even on a pod whose labels a later change of the tenant's grants no longer allows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..labels import GPU_RESOURCE
from ..spec import KUEUE_NAMESPACE, Taint
from ..view import ClusterView
from .kueue_config import tenant_namespaces
from .queues import LOCAL_QUEUE

API = "admissionregistration.k8s.io/v1"
# Kueue's names (pkg/controller/jobs/pod/constants, pkg/controller/constants in v0.17).
ADMISSION_GATE = "kueue.x-k8s.io/admission"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"
# A workload Kueue did not make for this object: naming one already admitted (another Job's) would
# have Kueue start this one on that admission.
PREBUILT_LABEL = "kueue.x-k8s.io/prebuilt-workload-name"
# The device plugin sets this from the GPUs allotted; set by hand it overrides them (the pod's own
# variables come after the plugin's), and the runtime then exposes whatever it names.
DEVICES_VARIABLE = "NVIDIA_VISIBLE_DEVICES"
NVIDIA_PREFIX = "NVIDIA_"

WORKLOADS = "aion-tenant-workloads"
KUEUE_GATE = "aion-kueue-admission"
SERVICES = "aion-tenant-services"

# Who the policies let through: Kueue (on the chart, its ServiceAccount in its namespace; on the
# local control plane, the admin), the controllers of kube-system (the Job controller creates an
# admitted Job's pods, ungated: Kueue unsuspended the Job) and the cluster's administrators. A tenant
# is none of them: its group, its ServiceAccounts, whatever identity it holds in its namespace.
_TRUSTED = (
    "'system:masters' in request.userInfo.groups"
    f" || request.userInfo.username.startsWith('system:serviceaccount:{KUEUE_NAMESPACE}:')"
    " || request.userInfo.username.startsWith('system:serviceaccount:kube-system:')"
    " || request.userInfo.username == 'system:kube-controller-manager'"
)

# Every object whose pods a tenant may make: the pods themselves, and the kinds that hold a template.
_POD_KINDS = (("", ("pods",)), ("apps", ("deployments", "replicasets", "statefulsets", "daemonsets")), ("batch", ("jobs", "cronjobs")))


def admission_policies(view: ClusterView) -> list[dict[str, Any]]:
    """Each policy, then its binding: refusals (`Deny`) in the tenant namespaces of the cluster."""
    grants = {tenant.namespace: list(tenant.priority_classes) for tenant in view.tenants}
    gpu_taints = sorted({taint for flavor in view.flavors for taint in flavor.taints}, key=lambda t: (t.key, t.value or "", t.effect))
    objects = []
    for policy in (workloads_policy(grants, gpu_taints), kueue_gate_policy(), services_policy()):
        objects += [policy, binding(policy["metadata"]["name"])]
    return objects


def workloads_policy(grants: dict[str, list[str]], gpu_taints: Sequence[Taint] = ()) -> dict[str, Any]:
    """Pods and pod templates: no GPU by environment variable or on a GPU node without asking, no foreign priority."""
    variables = [
        # The pod, or the template its controller makes pods from.
        _variable(
            "pod",
            "request.kind.kind == 'Pod' ? object"
            " : request.kind.kind == 'CronJob' ? object.spec.jobTemplate.spec.template : object.spec.template",
        ),
        _variable(
            "containers",
            "(has(variables.pod.spec.initContainers) ? variables.pod.spec.initContainers : []) + variables.pod.spec.containers",
        ),
        # Where a Kueue priority label counts: the object, its pods' template, a CronJob's Job template.
        _variable(
            "metadata",
            "[object.metadata]"
            " + (request.kind.kind == 'Pod' ? [] : [has(variables.pod.metadata) ? variables.pod.metadata : {}])"
            " + (request.kind.kind == 'CronJob' && has(object.spec.jobTemplate.metadata) ? [object.spec.jobTemplate.metadata] : [])",
        ),
        _variable("gpus", f"variables.containers.exists(c, {gpu_requested('c')})"),
        _variable("grants", _cel(grants)),
        _variable("allowed", "request.namespace in variables.grants ? variables.grants[request.namespace] : []"),
    ]
    validations = [
        {
            "expression": "variables.containers.all(c,"
            f" (!has(c.env) || c.env.all(e, e.name != '{DEVICES_VARIABLE}'))"
            " && (!has(c.envFrom) || c.envFrom.all(f, !has(f.prefix) || !f.prefix.startsWith('NVIDIA'))))",
            "message": f"{DEVICES_VARIABLE} is set by the GPU device plugin from the GPUs a container requests, never by hand "
            f"(nor by an envFrom prefix starting with NVIDIA): remove it and request {GPU_RESOURCE} in the container's resources",
            "reason": "Forbidden",
        },
        {
            "expression": "variables.containers.all(c,"
            f" {gpu_requested('c')} || !has(c.env) || c.env.all(e, !e.name.startsWith('{NVIDIA_PREFIX}')))",
            "message": f"a container that requests no {GPU_RESOURCE} may not set {NVIDIA_PREFIX}* variables (the NVIDIA runtime "
            f"would give it GPUs no quota counts): request {GPU_RESOURCE} in its resources, or remove the variables",
            "reason": "Forbidden",
        },
        {
            "expression": "variables.metadata.all(m,"
            f" !has(m.labels) || !('{PRIORITY_LABEL}' in m.labels) || m.labels['{PRIORITY_LABEL}'] in variables.allowed)",
            "messageExpression": f"'the {PRIORITY_LABEL} label must name one of this tenant\\'s priority classes ('"
            " + (size(variables.allowed) == 0 ? 'none' : variables.allowed.join(', '))"
            " + '): use one of them, or leave the label out'",
            "message": f"the {PRIORITY_LABEL} label must name one of this tenant's priority classes: use one, or leave it out",
            "reason": "Forbidden",
        },
        {
            # On a GPU node, an image's own NVIDIA_VISIBLE_DEVICES (CUDA images set it) reaches the GPUs
            # there; the pools' taints keep off the pods that do not ask for one, unless they tolerate them.
            "expression": "variables.gpus || !has(variables.pod.spec.tolerations)"
            f" || variables.pod.spec.tolerations.all(t, {_tolerates_none('t', gpu_taints)})",
            "message": f"a pod that requests no {GPU_RESOURCE} may not tolerate the GPU nodes' taints "
            f"({', '.join(_shown(t) for t in gpu_taints) or 'none'}): remove that toleration, or request {GPU_RESOURCE}",
            "reason": "Forbidden",
        },
        {
            "expression": f"variables.metadata.all(m, !has(m.labels) || !('{PREBUILT_LABEL}' in m.labels))",
            "message": f"Kueue makes a tenant's workloads itself, one per Job or pod: remove the {PREBUILT_LABEL} label",
            "reason": "Forbidden",
        },
    ]
    return _policy(WORKLOADS, [_rule(group, resources) for group, resources in _POD_KINDS], validations, variables)


def kueue_gate_policy() -> dict[str, Any]:
    """A tenant's GPU pods wait for Kueue: created with its gate and the namespace's LocalQueue, and only Kueue lifts the gate."""
    gated = f"has(object.spec.schedulingGates) && object.spec.schedulingGates.exists(g, g.name == '{ADMISSION_GATE}')"
    was_gated = f"has(oldObject.spec.schedulingGates) && oldObject.spec.schedulingGates.exists(g, g.name == '{ADMISSION_GATE}')"
    labels = "object.metadata.labels"
    queued = f"has({labels}) && '{QUEUE_LABEL}' in {labels} && {labels}['{QUEUE_LABEL}'] == '{LOCAL_QUEUE}'"
    variables = [
        _variable("containers", "(has(object.spec.initContainers) ? object.spec.initContainers : []) + object.spec.containers"),
        _variable("gpus", f"variables.containers.exists(c, {gpu_requested('c')})"),
    ]
    validations = [
        {
            "expression": f"request.operation != 'CREATE' || !variables.gpus || ({gated})",
            "message": f"a pod that requests {GPU_RESOURCE} runs only once Kueue admits it, and Kueue does not gate a pod whose "
            f"owner it manages: create the pod without that owner reference, or run it as a Job, Deployment, StatefulSet "
            f"or ReplicaSet (Kueue adds the {ADMISSION_GATE} scheduling gate to their pods)",
            "reason": "Forbidden",
        },
        {
            "expression": f"request.operation != 'CREATE' || !variables.gpus || ({queued})",
            "message": f"a pod that requests {GPU_RESOURCE} is admitted through the namespace's LocalQueue: set the "
            f"{QUEUE_LABEL} label to '{LOCAL_QUEUE}', or leave it out and Kueue sets it",
            "reason": "Forbidden",
        },
        {
            # Bound by hand, a pod skips the scheduler: the flavor Kueue admitted it on, and the nodes' taints.
            "expression": "request.operation != 'CREATE' || !has(object.spec.nodeName) || object.spec.nodeName == ''",
            "message": "a tenant's pod is placed by the scheduler once Kueue admits it: remove spec.nodeName "
            "(a nodeSelector or node affinity says where it may run)",
            "reason": "Forbidden",
        },
        {
            "expression": f"request.operation != 'UPDATE' || !({was_gated}) || ({gated})",
            "message": f"only Kueue lifts the {ADMISSION_GATE} scheduling gate, once it admits the pod: wait for the pod's "
            f"Workload to be admitted (`kubectl get workloads` says why it waits)",
            "reason": "Forbidden",
        },
    ]
    return _policy(KUEUE_GATE, [_rule("", ("pods",))], validations, variables)


def services_policy() -> dict[str, Any]:
    validations = [
        {
            "expression": "!has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0",
            "message": "spec.externalIPs is refused in tenant namespaces (CVE-2020-8554: it intercepts traffic meant for any "
            "address, other tenants' included): remove it, and reach the Service by its cluster IP or through an Ingress",
            "reason": "Forbidden",
        }
    ]
    return _policy(SERVICES, [_rule("", ("services",))], validations, [])


def _tolerates_none(toleration: str, taints: Sequence[Taint]) -> str:
    return " && ".join(f"!({_tolerates(toleration, taint)})" for taint in taints) or "true"


def _tolerates(toleration: str, taint: Taint) -> str:
    """CEL: whether `toleration` tolerates `taint` (kube-scheduler's rules: an empty key with Exists matches
    every key, an empty effect every effect; Equal is the default operator)."""
    t = toleration
    exists = f"has({t}.operator) && {t}.operator == 'Exists'"
    key = f"(!has({t}.key) || {t}.key == '' || {t}.key == {json.dumps(taint.key)})"
    equal = f"has({t}.key) && {t}.key == {json.dumps(taint.key)} && (has({t}.value) ? {t}.value : '') == {json.dumps(taint.value or '')}"
    effect = f"(!has({t}.effect) || {t}.effect == '' || {t}.effect == {json.dumps(taint.effect)})"
    return f"(({exists}) ? {key} : ({equal})) && {effect}"


def _shown(taint: Taint) -> str:
    return f"{taint.key}={taint.value}:{taint.effect}" if taint.value else f"{taint.key}:{taint.effect}"


def binding(policy: str) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": policy},
        "spec": {"policyName": policy, "validationActions": ["Deny"]},
    }


def gpu_requested(container: str) -> str:
    """CEL: whether `container` requests at least one GPU (in requests or limits: an extended resource's
    request defaults to its limit and must equal it)."""
    in_field = [
        f"(has({container}.resources.{field}) && '{GPU_RESOURCE}' in {container}.resources.{field}"
        f" && quantity({container}.resources.{field}['{GPU_RESOURCE}']).isGreaterThan(quantity('0')))"
        for field in ("requests", "limits")
    ]
    return f"(has({container}.resources) && ({' || '.join(in_field)}))"


def _policy(name: str, rules: list[dict[str, Any]], validations: list[dict[str, Any]], variables: list[dict[str, str]]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        # An expression that cannot be evaluated refuses: a fence that fails open is no fence.
        "failurePolicy": "Fail",
        "matchConstraints": {"namespaceSelector": tenant_namespaces(), "resourceRules": rules},
        "matchConditions": [{"name": "asked-by-a-tenant", "expression": f"!({_TRUSTED})"}],
        "validations": validations,
    }
    if variables:
        spec["variables"] = variables
    return {"apiVersion": API, "kind": "ValidatingAdmissionPolicy", "metadata": {"name": name}, "spec": spec}


def _rule(group: str, resources: tuple[str, ...]) -> dict[str, Any]:
    return {"apiGroups": [group], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": list(resources)}


def _variable(name: str, expression: str) -> dict[str, str]:
    return {"name": name, "expression": expression}


def _cel(grants: dict[str, list[str]]) -> str:
    """A CEL map literal of string lists (JSON's string syntax is CEL's for these names)."""
    return (
        "{" + ", ".join(f"{json.dumps(ns)}: [{', '.join(json.dumps(c) for c in classes)}]" for ns, classes in sorted(grants.items())) + "}"
    )
