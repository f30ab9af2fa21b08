"""The policy pack: five mandatory policies, each a thin shell over a pure check."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import hooks
from .pools import public_ip_finding
from .power import power_findings
from .secrets import kubeconfig_findings
from .stack_config import SPEC_OUTPUT, aion_values
from .tenants import LEVELS, isolation_findings, pod_security_findings
from .view import STACK_TYPE, Finding

PACK = "aion-factory"
POWER = "power-budget"
PUBLIC_IP = "gpu-pool-no-public-ip"
ISOLATION = "tenant-namespace-fenced"
KUBECONFIG = "kubeconfig-is-secret"
POD_SECURITY = "tenant-pod-security"


def _power(args: StackValidationArgs, report: ReportViolation) -> None:
    view = hooks.engine_view()
    values, source = aion_values(view.config), "the stack's config"
    if not values:
        values, source = _spec_output(view.resources), f"the stack output {SPEC_OUTPUT}"
    if not values:
        args.not_applicable(f"no aion: config and no {SPEC_OUTPUT} stack output: nothing to plan")
    config = args.get_config()
    site, document = config.get("site"), config.get("site_document")
    for message in power_findings(
        values, site if isinstance(site, dict) else None, source, document if isinstance(document, dict) else None
    ):
        report(message, None)


def _spec_output(resources: Iterable[Any]) -> dict[str, Any]:
    """The spec a program built in code and exported (examples/consumer)."""
    for resource in resources:
        if resource.type == STACK_TYPE:
            spec = resource.value(SPEC_OUTPUT)
            if isinstance(spec, dict):
                return spec
    return {}


def _public_ip(args: ResourceValidationArgs, report: ReportViolation) -> None:
    message = public_ip_finding(args.resource_type, args.props)
    if message:
        report(message, None)


def _pod_security(args: StackValidationArgs, report: ReportViolation) -> None:
    allowed = args.get_config().get("allowed")
    _report_all(pod_security_findings(hooks.engine_view().resources, allowed if isinstance(allowed, dict) else {}), report)


def _report_all(findings: list[Finding], report: ReportViolation) -> None:
    for finding in findings:
        report(finding.message, finding.urn)


def policies() -> list[StackValidationPolicy | ResourceValidationPolicy]:
    return [
        StackValidationPolicy(
            name=POWER,
            description="Every level of the site's power tree holds the stack's pools at rated power.",
            validate=_power,
            config_schema=PolicyConfigSchema(
                properties={
                    "site": {"type": "object", "description": "The site's power tree (as aion:site); overrides the stack's."},
                    "site_document": {
                        "type": "object",
                        "description": "The whole site (site, clusters, tenants): the stack is planned among every other cluster.",
                    },
                }
            ),
        ),
        ResourceValidationPolicy(
            name=PUBLIC_IP,
            description="GPU node pools have no public IPs.",
            validate=_public_ip,
        ),
        StackValidationPolicy(
            name=ISOLATION,
            description="Every tenant namespace has a GPU ResourceQuota and a default-deny NetworkPolicy.",
            validate=lambda args, report: _report_all(isolation_findings(hooks.engine_view().resources), report),
        ),
        StackValidationPolicy(
            name=POD_SECURITY,
            description="Every tenant namespace enforces restricted Pod Security, unless this pack's config allows it more.",
            validate=_pod_security,
            config_schema=PolicyConfigSchema(
                properties={
                    "allowed": {
                        "type": "object",
                        "description": "Tenant namespace -> the most permissive Pod Security level it may enforce, once reviewed.",
                        "additionalProperties": {"type": "string", "enum": list(LEVELS)},
                    }
                }
            ),
        ),
        StackValidationPolicy(
            name=KUBECONFIG,
            description="Every kubeconfig the stack holds is a secret.",
            validate=lambda args, report: _report_all(kubeconfig_findings(hooks.engine_view().resources), report),
        ),
    ]


def run() -> None:
    """Serve the pack (blocks): the CLI starts this process and talks to it over gRPC."""
    hooks.install()
    PolicyPack(name=PACK, policies=list(policies()), enforcement_level=EnforcementLevel.MANDATORY)
