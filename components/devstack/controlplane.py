"""A real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler, KWOK to make fake nodes look alive,
and Kueue's manager with its CRDs and webhooks (see kueue.py).

`python -m aion_factory.devstack.controlplane start|stop|status [--root DIR]`, or
`LocalControlPlane(root).start()` from a test fixture. State (certificates, etcd
data, ports, pids) lives under `root`, so a second start reuses it and the
kubeconfig path never changes. Each process is recorded with its start time, boot
and PID namespace (processes.py): `stop` signals only processes that are still the
ones it started, never whoever holds their pids now (after a reboot: anyone).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from ..errors import AionError, ConfigError
from ..local.simulated import FAKE_NODE_ANNOTATION
from ..processes import Started, signal_process
from ..spec import Kueue
from . import kueue
from .certs import Pki, ensure_pki
from .local_stack import local_cluster

log = logging.getLogger(__name__)

# Start order; stop goes the other way.
PROGRAMS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kueue")
PORTS = ("etcd", "etcd-peer", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kueue-webhook", "kueue-health")
SERVICE_RANGE = "10.0.0.0/24"
# KWOK's own stages (fast node start, heartbeat with a lease, pods Running), as its
# release ships them: the bootstrap points AION_KWOK_STAGES at them in kwok's module.
KWOK_STAGES_ENV = "AION_KWOK_STAGES"
NODE_LEASE_SECONDS = 40
ETCD_CLIENT = "apiserver-etcd-client"  # the one client etcd accepts: kube-apiserver


class ControlPlaneError(AionError):
    """The local control plane could not start, or its tools are missing."""


def find_binary(program: str) -> str:
    """The toolchain bootstrap exports AION_<PROGRAM>; a user's own install on PATH works too."""
    variable = "AION_" + program.upper().replace("-", "_")
    path = os.environ.get(variable) or shutil.which(program)
    if not path:
        raise ControlPlaneError(f"{program} not found: set {variable} or put it on PATH (scripts/bootstrap-toolchain.sh builds it)")
    return path


def kwok_stages() -> list[str]:
    stages = [p for p in os.environ.get(KWOK_STAGES_ENV, "").split(os.pathsep) if p]
    if not stages:
        raise ControlPlaneError(f"KWOK needs its stage files: set {KWOK_STAGES_ENV} (scripts/bootstrap-toolchain.sh does)")
    return stages


@dataclass
class LocalControlPlane:
    root: Path
    kueue: Kueue = field(default_factory=Kueue)  # the local cluster's Kueue settings, from its stack

    def __post_init__(self) -> None:
        self.root = self.root.resolve()

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"ports": {}, "pids": {}, "started": {}}
        if self.state_file.exists():
            state.update(json.loads(self.state_file.read_text()))
        return state

    def running(self) -> dict[str, int]:
        """The programs still running as the processes this control plane started."""
        return {name: pid for name, pid in self.state()["pids"].items() if self._ours(name, pid) is not None}

    def started(self) -> dict[str, Started]:
        """What this control plane recorded of each process it started (an older state file recorded bare pids: none)."""
        state = self.state()
        found = {name: Started.from_dict(state["started"].get(name) or {}) for name in state["pids"]}
        return {name: started for name, started in found.items() if started is not None and started.pid == state["pids"][name]}

    def _ours(self, program: str, pid: int) -> psutil.Process | None:
        if program not in self.state()["started"]:
            return self._named_ours(pid)
        started = self.started().get(program)
        return started.process() if started is not None else None

    def _named_ours(self, pid: int) -> psutil.Process | None:
        """A pid an older state file recorded bare (no start time): the process under it is ours only
        while its command line names this control plane's folder, as that of every program it starts does."""
        try:
            process = psutil.Process(pid)
            named = any(str(self.root) in arg for arg in process.cmdline())
            return process if named and process.status() != psutil.STATUS_ZOMBIE else None
        except psutil.Error:
            return None

    def start(self, timeout_s: float = 180) -> None:
        if len(self.running()) == len(PROGRAMS) and self._api_ready():
            if kueue.config_current(self.root, self.kueue, self.state()["ports"]):
                log.info("local control plane already running at %s", self.kubeconfig)
                return
            log.info("the stack's Kueue settings changed: restarting the local control plane")
        self.stop()
        binaries = {program: find_binary(program) for program in (*PROGRAMS, "kubectl")}
        kwok_stages()  # fail before anything starts
        kueue.kueue_module()
        pki = ensure_pki(self.root / "pki")
        ports = _choose_ports(self.state()["ports"])
        self._save({"ports": ports, "pids": {}, "started": {}})
        for client in ("admin", "controller-manager", "scheduler"):
            _write_kubeconfig(self._client_kubeconfig(client), pki, client, ports["kube-apiserver"])
        shutil.copyfile(self._client_kubeconfig("admin"), self.kubeconfig)
        deadline = time.monotonic() + timeout_s
        try:
            for program in PROGRAMS:
                if program == "kueue":
                    self._install_kueue(binaries["kubectl"], pki, ports)
                self._launch(program, [binaries[program], *self._flags(program, pki, ports)])
                self._await_ready(program, ports, deadline)
        except BaseException:
            self.stop()
            raise
        log.info("local control plane ready: KUBECONFIG=%s", self.kubeconfig)

    def stop(self) -> None:
        """Stop each process this control plane started that still runs; a pid that now names
        another process (reused, or recorded before a reboot) is forgotten, never signalled."""
        state = self.state()
        for program in reversed(PROGRAMS):
            pid = state["pids"].get(program)
            if pid is not None:
                process = self._ours(program, pid)
                if process is not None:
                    _terminate(process)
                else:
                    log.info("%s (pid %s) is no longer the process this control plane started: nothing to stop", program, pid)
            state["pids"].pop(program, None)
            state["started"].pop(program, None)
            self._save(state)
        busy = [f"{name}:{port}" for name, port in state["ports"].items() if not _port_free(port)]
        if busy:
            log.warning("ports still bound after stop: %s", ", ".join(busy))

    def _install_kueue(self, kubectl: str, pki: Pki, ports: dict[str, int]) -> None:
        """Kueue's CRDs, established, then its namespace and webhooks (by URL, to the port it will listen on)."""
        _, webhooks = kueue.write_inputs(self.root, pki, ports, self.kueue)
        crds = [arg for path in kueue.crd_files(kueue.kueue_module()) for arg in ("-f", str(path))]
        for argv in (
            ["apply", "--server-side", "--force-conflicts", *crds],
            ["wait", "--for=condition=Established", "--timeout=60s", *crds],
            ["apply", "--server-side", "--force-conflicts", "-f", str(webhooks)],
        ):
            done = subprocess.run([kubectl, f"--kubeconfig={self.kubeconfig}", *argv], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise ControlPlaneError(f"kubectl {argv[0]} of Kueue failed: {done.stderr.strip()[-2000:]}")

    def _client_kubeconfig(self, client: str) -> Path:
        return self.root / f"{client}.kubeconfig"

    def _save(self, state: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(state, indent=2))

    def _launch(self, program: str, argv: list[str]) -> None:
        logs = self.root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with open(logs / f"{program}.log", "ab") as out:
            # A session of its own: the control plane outlives the command that started it.
            process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        state = self.state()
        state["pids"][program] = process.pid
        state["started"][program] = Started.record(process.pid).to_dict()
        self._save(state)

    def _flags(self, program: str, pki: Pki, ports: dict[str, int]) -> list[str]:
        etcd_url, peer_url = f"https://127.0.0.1:{ports['etcd']}", f"https://127.0.0.1:{ports['etcd-peer']}"
        if program == "etcd":
            # TLS on both ports, and only clients with a certificate of our CA, as kubeadm sets etcd up.
            return [
                "--name=aion-local", f"--data-dir={self.root / 'etcd'}",
                f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=aion-local={peer_url}",
                f"--cert-file={pki.etcd_cert}", f"--key-file={pki.etcd_key}",
                "--client-cert-auth=true", f"--trusted-ca-file={pki.ca_cert}",
                f"--peer-cert-file={pki.etcd_cert}", f"--peer-key-file={pki.etcd_key}",
                "--peer-client-cert-auth=true", f"--peer-trusted-ca-file={pki.ca_cert}",
                "--unsafe-no-fsync=true",  # a throwaway test store: durability buys nothing here
            ]  # fmt: skip
        if program == "kube-apiserver":
            return [
                f"--etcd-servers={etcd_url}", f"--etcd-cafile={pki.ca_cert}",
                f"--etcd-certfile={pki.client_cert(ETCD_CLIENT)}", f"--etcd-keyfile={pki.client_key(ETCD_CLIENT)}",
                "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
                f"--secure-port={ports['kube-apiserver']}",
                f"--tls-cert-file={pki.serving_cert}", f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki.sa_pub}", f"--service-account-signing-key-file={pki.sa_key}",
                f"--service-cluster-ip-range={SERVICE_RANGE}", "--authorization-mode=Node,RBAC",
                "--allow-privileged=true",  # the power-cap DaemonSet runs nvidia-smi privileged
            ]  # fmt: skip
        if program in ("kube-controller-manager", "kube-scheduler"):
            kubeconfig = self._client_kubeconfig(program.removeprefix("kube-"))
            flags = [
                f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}", "--leader-elect=false",
                "--bind-address=127.0.0.1", f"--secure-port={ports[program]}",
            ]  # fmt: skip
            if program == "kube-controller-manager":
                flags += [
                    f"--service-account-private-key-file={pki.sa_key}",
                    f"--root-ca-file={pki.ca_cert}",
                    "--use-service-account-credentials=true",
                ]
            return flags
        if program == "kueue":
            return [f"--config={self.root / 'kueue-config.yaml'}", f"--kubeconfig={self.kubeconfig}"]
        return [
            f"--kubeconfig={self.kubeconfig}", "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={FAKE_NODE_ANNOTATION}=fake",
            f"--server-address=127.0.0.1:{ports['kwok']}",
            f"--node-lease-duration-seconds={NODE_LEASE_SECONDS}",
            *(f"--config={path}" for path in kwok_stages()),
        ]  # fmt: skip

    def _await_ready(self, program: str, ports: dict[str, int], deadline: float) -> None:
        probes: dict[str, Callable[[], bool]] = {
            "etcd": lambda: _get(f"https://127.0.0.1:{ports['etcd']}/health", context=self._client_context(ETCD_CLIENT)),
            "kube-apiserver": self._api_ready,
            # The ServiceAccount controller made the default account: the controller manager works.
            "kube-controller-manager": lambda: self._api_ready("/api/v1/namespaces/default/serviceaccounts/default"),
            "kube-scheduler": lambda: _get(f"https://127.0.0.1:{ports['kube-scheduler']}/healthz", insecure=True),
            "kwok": lambda: _get(f"http://127.0.0.1:{ports['kwok']}/healthz"),
            "kueue": lambda: _get(f"http://127.0.0.1:{ports['kueue-health']}/readyz"),
        }
        pid = self.state()["pids"][program]
        while time.monotonic() < deadline:
            if self._ours(program, pid) is None:
                raise ControlPlaneError(f"{program} exited; see {self.root / 'logs' / (program + '.log')}")
            if probes[program]():
                return
            time.sleep(0.3)
        raise ControlPlaneError(f"{program} not ready in time; see {self.root / 'logs' / (program + '.log')}")

    def _api_ready(self, path: str = "/readyz") -> bool:
        ports = self.state()["ports"]
        if "kube-apiserver" not in ports:
            return False
        return _get(f"https://127.0.0.1:{ports['kube-apiserver']}{path}", context=self._client_context("admin"))

    def _client_context(self, client: str) -> ssl.SSLContext:
        """TLS as `client` of this control plane's CA (the admin for kube-apiserver, its etcd client for etcd)."""
        pki = Pki(self.root / "pki")
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        context.load_cert_chain(pki.client_cert(client), pki.client_key(client))
        return context


def _write_kubeconfig(path: Path, pki: Pki, client: str, port: int) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "aion-local", "cluster": {"server": f"https://127.0.0.1:{port}", "certificate-authority": str(pki.ca_cert)}}],
        "users": [
            {"name": client, "user": {"client-certificate": str(pki.client_cert(client)), "client-key": str(pki.client_key(client))}}
        ],
        "contexts": [{"name": "aion-local", "context": {"cluster": "aion-local", "user": client}}],
        "current-context": "aion-local",
    }
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML: no dependency needed


def _choose_ports(previous: dict[str, int]) -> dict[str, int]:
    """Keep last run's ports where still free, so the kubeconfig's server stays put."""
    ports: dict[str, int] = {}
    for name in PORTS:
        port = previous.get(name)
        ports[name] = port if port and port not in ports.values() and _port_free(port) else _free_port(set(ports.values()))
    return ports


def _free_port(taken: set[int]) -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in taken:
            return port


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _get(url: str, context: ssl.SSLContext | None = None, insecure: bool = False) -> bool:
    if insecure:
        context = ssl._create_unverified_context()  # a component's self-signed health port on loopback
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False


def _terminate(process: psutil.Process, grace_s: float = 10) -> None:
    """Stop the process group `process` leads (it was started in a session of its own), politely
    first. psutil's wait reaps a child of ours and polls for any other process."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        if not process.is_running():  # psutil checks that the pid still names this very process
            return
        refused = signal_process(process.pid, sig, group=True)
        if refused:
            log.warning("%s", refused)
            return
        try:
            process.wait(wait_s)
            return
        except psutil.TimeoutExpired:
            continue


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aion_factory.devstack.controlplane")
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--root", default=".state/local", help="state folder (default: .state/local)")
    parser.add_argument("--stack", help="run Kueue with the Kueue settings of this stack file's local cluster")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        plane = LocalControlPlane(Path(args.root), local_cluster(args.stack).kueue if args.stack else Kueue())
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        if args.action == "start":
            plane.start()
        elif args.action == "stop":
            plane.stop()
    except ControlPlaneError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    running = plane.running()
    print(json.dumps({"kubeconfig": str(plane.kubeconfig), "running": sorted(running), "ports": plane.state()["ports"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
