"""Kueue's real manager on the local control plane, as envtest runs webhooks: by URL on 127.0.0.1.

Kueue belongs to the cluster, as its Helm chart does on kind and on Kapsule: the
control plane applies Kueue's CRDs (from its Go module, which the bootstrap
fetched), its webhooks pointed at the manager on 127.0.0.1 with the control
plane's CA, and runs the manager as one more supervised process. The stacks
then only declare Kueue's objects (flavors, cohorts, queues), so its CRDs are not
in their state.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml

from ..platform import kueue_config
from ..spec import KUEUE_NAMESPACE, Kueue
from .certs import Pki, write_private

KUEUE_DIR_ENV = "AION_KUEUE_DIR"  # the sigs.k8s.io/kueue module folder (the bootstrap sets it)
CRDS = "config/components/crd/bases"
WEBHOOKS = "config/components/webhook/manifests.yaml"
NAMESPACE = KUEUE_NAMESPACE
# The webhooks registered: Kueue's kinds, and the workloads of the kinds this control plane has
# (the manager sets up the spec's other integrations once their CRDs exist, as on a real cluster).
_KUEUE_KINDS = "kueue.x-k8s.io"
_WORKLOADS = {("batch", "jobs"), ("", "pods"), ("apps", "deployments"), ("apps", "statefulsets")}
# Kueue 0.17 loads a metrics certificate from this fixed path whenever it does not manage its own
# certificates (cmd/kueue/main.go), even with its metrics server off, as it is here. The only path
# it reads, so the control plane puts a pair there (never served: nothing listens for metrics).
METRICS_CERTS = Path("/etc/kueue/metrics/certs")


def kueue_module() -> Path:
    folder = os.environ.get(KUEUE_DIR_ENV)
    if not folder or not (Path(folder) / CRDS).is_dir():
        from .controlplane import ControlPlaneError

        raise ControlPlaneError(f"Kueue needs its module folder: set {KUEUE_DIR_ENV} (scripts/bootstrap-toolchain.sh does)")
    return Path(folder)


def crd_files(module: Path) -> list[Path]:
    return sorted((module / CRDS).glob("kueue.x-k8s.io_*.yaml"))


def configuration(settings: Kueue, ports: dict[str, int], cert_dir: Path) -> dict[str, Any]:
    """The spec's Kueue configuration, with every listener on 127.0.0.1, no leader election, our certificate."""
    listeners = {
        "health": {"healthProbeBindAddress": f"127.0.0.1:{ports['kueue-health']}"},
        "metrics": {"bindAddress": "0"},  # off: nothing scrapes it here
        "webhook": {"host": "127.0.0.1", "port": ports["kueue-webhook"], "certDir": str(cert_dir)},
        "leaderElection": {"leaderElect": False},
        "internalCertManagement": {"enable": False},
        # Its aggregated API would need an APIService the bare control plane cannot route to.
        "featureGates": {"VisibilityOnDemand": False},
    }
    return kueue_config.configuration(settings, listeners)


def webhook_configurations(module: Path, port: int, ca_pem: bytes) -> list[dict[str, Any]]:
    """Kueue's own webhook configurations, for its kinds and this control plane's workloads, each
    called by URL on 127.0.0.1. A workload's webhook sees only the namespaces Kueue manages, as the
    Helm chart sets it (its webhook template gives each integration `managedJobsNamespaceSelector`):
    the upstream manifest has no selector, and a pod webhook without one would gate kube-system's pods."""
    configurations = []
    for document in yaml.safe_load_all((module / WEBHOOKS).read_text()):
        webhooks = [hook for hook in document["webhooks"] if _kueue_kind(hook) or _workload(hook)]
        for hook in webhooks:
            path = hook["clientConfig"]["service"]["path"]
            hook["clientConfig"] = {"url": f"https://127.0.0.1:{port}{path}", "caBundle": base64.b64encode(ca_pem).decode()}
            if _workload(hook):
                hook["namespaceSelector"] = kueue_config.tenant_namespaces()
        name = f"kueue-{document['metadata']['name']}"
        configurations.append({**document, "metadata": {"name": name}, "webhooks": webhooks})
    return configurations


def _kueue_kind(hook: dict[str, Any]) -> bool:
    return any(group == _KUEUE_KINDS for rule in hook.get("rules", []) for group in rule["apiGroups"])


def _workload(hook: dict[str, Any]) -> bool:
    return any((group, r) in _WORKLOADS for rule in hook.get("rules", []) for group in rule["apiGroups"] for r in rule["resources"])


def config_current(root: Path, settings: Kueue, ports: dict[str, int]) -> bool:
    """Whether the manager running under `root` was started with these settings."""
    written = root / "kueue-config.yaml"
    return written.exists() and yaml.safe_load(written.read_text()) == configuration(settings, ports, root / "kueue-certs")


def write_inputs(root: Path, pki: Pki, ports: dict[str, int], settings: Kueue) -> tuple[Path, Path]:
    """(Kueue's config file, the webhook configurations' manifest), written under `root`."""
    module = kueue_module()
    cert_dir = root / "kueue-certs"  # config_current expects it there
    cert_dir.mkdir(parents=True, exist_ok=True)
    # The API server's serving certificate names 127.0.0.1 and is signed by the control plane's CA.
    for name, source in (("tls.crt", pki.serving_cert), ("tls.key", pki.serving_key)):
        write_private(cert_dir / name, Path(source).read_bytes())
    _ensure_metrics_certs(pki)
    config = root / "kueue-config.yaml"
    config.write_text(yaml.safe_dump(configuration(settings, ports, cert_dir), sort_keys=False))
    webhooks = root / "kueue-webhooks.yaml"
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    ca_pem = Path(pki.ca_cert).read_bytes()
    webhooks.write_text(yaml.safe_dump_all([namespace, *webhook_configurations(module, ports["kueue-webhook"], ca_pem)], sort_keys=False))
    return config, webhooks


def _ensure_metrics_certs(pki: Pki) -> None:
    if all((METRICS_CERTS / name).exists() for name in ("tls.crt", "tls.key")):
        return
    try:
        METRICS_CERTS.mkdir(parents=True, exist_ok=True)
        for name, source in (("tls.crt", pki.serving_cert), ("tls.key", pki.serving_key)):
            write_private(METRICS_CERTS / name, Path(source).read_bytes())
    except OSError as error:
        from .controlplane import ControlPlaneError

        raise ControlPlaneError(
            f"Kueue reads a metrics certificate from {METRICS_CERTS} and it cannot be written ({error.strerror}): "
            f"create it once as root (tls.crt and tls.key: any pair), or use `make kind-up`, whose Kueue manages its own"
        ) from None
