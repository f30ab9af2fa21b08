"""Faults on the real engine: a `pulumi up` killed at three points, kube-apiserver killed mid-up,
drift by kubectl, a destroy after an interrupted up. After each, the README's command (the Python
entry `make local` runs: aion_factory.devstack.localstack) must converge with nothing left over.

The stack writes checkpoints as a user's does (the other engine modules skip them for speed): a kill
then leaves what it leaves for a user, a lock and pending operations. The kill points come from the
engine's own event log, never from a sleep. The tests run in file order on one stack.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from kubernetes import client

from aion_factory import labels, make_plan
from aion_factory.devstack import show
from aion_factory.fleet.pulumi_runs import Lock, Stack, lock_files
from aion_factory.local.simulated import node_groups
from aion_factory.platform import StorageClassChoice, platform_manifest
from aion_factory.platform.tenancy import TENANT_LABEL
from aion_factory.processes import session_members
from aion_factory.site import stack_from_config
from aion_factory.view import cluster_view
from engine_support import PulumiProject, stack_values, wait_for
from support import ROOT

STACK, CLUSTER, TENANT = "faults", "faults", "kyutai"
NODES_TYPE = "pulumi-python:dynamic:Resource"
Event = dict[str, Any]


def small_stack() -> dict[str, Any]:
    """The local stack with one tenant, its cluster renamed: apart from other modules' objects."""
    values = copy.deepcopy(stack_values(ROOT / "stacks/Pulumi.local.yaml"))
    values["clusters"][0]["name"] = CLUSTER
    values["tenants"] = [{**t, "clusters": [CLUSTER]} for t in values["tenants"] if t["name"] == TENANT]
    values["tenants"][0].pop("borrowing_limit", None)  # no cohort to borrow from with one tenant
    return values


VALUES = small_stack()
SPEC = stack_from_config(VALUES, ROOT / "stacks").spec
VIEW = cluster_view(SPEC, make_plan(SPEC), CLUSTER)
PLANNED = platform_manifest(VIEW, StorageClassChoice.local()).objects()
NODES = sorted(name for group in node_groups(VIEW) for name in group.node_names())


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, pulumi_env: dict[str, str]) -> Iterator[PulumiProject]:
    env = {k: v for k, v in pulumi_env.items() if k != "PULUMI_SKIP_CHECKPOINTS"}
    env["PULUMI_DEBUG_COMMANDS"] = "true"  # enables `--event-log`, as the Automation API does
    project = PulumiProject(tmp_path_factory.mktemp("project-faults"), env, STACK)
    project.write_config(VALUES)
    project.pulumi("stack", "init", "--secrets-provider", "passphrase")
    yield project
    readme(project, "down")  # safety net if a test failed; nothing of the stack outlives the module
    project.pulumi("stack", "rm", "--yes", "--force", check=False)


# --- driving the README's command -------------------------------------------------------------


def start(project: PulumiProject, action: str, event_log: Path | None = None) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "aion_factory.devstack.localstack", action, "--stack", STACK, "--project", str(project.root)]
    if event_log is not None:
        argv += ["--", "--event-log", str(event_log)]
    return subprocess.Popen(argv, env=project.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def readme(project: PulumiProject, action: str) -> subprocess.CompletedProcess[str]:
    process = start(project, action)
    out, _ = process.communicate(timeout=900)
    return subprocess.CompletedProcess(process.args, process.returncode, out, "")


def failure(run: subprocess.CompletedProcess[str]) -> str:
    """What a failed run said: its lines that name an error or a warning, and its end."""
    lines = run.stdout.splitlines()
    said = [line for line in lines if "error" in line.lower() or "warning" in line.lower()]
    return "\n".join([*said[:40], "...", *lines[-15:]])


def events(log: Path) -> list[Event]:
    found = []
    for line in log.read_text().splitlines() if log.exists() else []:
        try:
            found.append(json.loads(line))
        except ValueError:
            break  # the line being written
    return found


def pulumi_up_of(pid: int) -> list[int]:
    """The `pulumi up` process that process `pid` started."""
    found = []
    for child in psutil.Process(pid).children():
        try:
            argv = child.cmdline()
        except psutil.Error:
            continue  # ended meanwhile
        if argv and Path(argv[0]).name == "pulumi" and argv[1:2] == ["up"]:
            found.append(child.pid)
    return found


def kill_cli_when(project: PulumiProject, tmp_path: Path, point: Callable[[Path], bool]) -> tuple[subprocess.CompletedProcess[str], int]:
    """The README's up, its `pulumi` CLI SIGKILLed once `point` (given the engine's event log) is reached."""
    log = tmp_path / "events.jsonl"
    process = start(project, "up", log)
    found = wait_for(lambda: pulumi_up_of(process.pid) or process.poll() is not None, what="the pulumi CLI")
    assert process.poll() is None, f"the up ended before it began:\n{process.communicate()[0][-3000:]}"
    [cli] = found
    while not point(log) and process.poll() is None:
        time.sleep(0.01)  # polling the engine's log, finely: a kill point can be a fraction of a second wide
    assert process.poll() is None, f"the up ended before the kill point:\n{process.communicate()[0][-3000:]}"
    os.kill(cli, signal.SIGKILL)
    out, _ = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out, ""), cli


def started(kind: str, count: int = 1) -> Callable[[Path], bool]:
    def point(log: Path) -> bool:
        pre = [e for e in events(log) if "resourcePreEvent" in e and e["resourcePreEvent"]["metadata"]["type"].startswith(kind)]
        return len(pre) >= count

    return point


def done(kind: str, count: int) -> Callable[[Path], bool]:
    def point(log: Path) -> bool:
        outs = [e for e in events(log) if "resOutputsEvent" in e and e["resOutputsEvent"]["metadata"]["type"].startswith(kind)]
        return len(outs) >= count

    return point


def done_with_a_create_pending(project: PulumiProject, kind: str, count: int) -> Callable[[Path], bool]:
    """`count` of `kind` done, and the state on disk recording a create under way: a kill here
    leaves a pending create for the recovery to deal with (whatever the engine's pace)."""

    def point(log: Path) -> bool:
        ended = [e for e in events(log) if "resOutputsEvent" in e and e["resOutputsEvent"]["metadata"]["type"].startswith(kind)]
        if len(ended) < count:
            return False
        try:
            return bool(state_on_disk(project).get("pending_operations"))
        except (OSError, ValueError):  # the engine is rewriting the file: look again
            return False

    return point


# --- what converged means ---------------------------------------------------------------------


def state(project: PulumiProject) -> dict[str, Any]:
    deployment: dict[str, Any] = json.loads(project.pulumi("stack", "export").stdout)["deployment"]
    return deployment


def state_on_disk(project: PulumiProject) -> dict[str, Any]:
    """The state as the killed CLI left it, read from the file backend itself: before recovery,
    `pulumi stack export` may fail (a metadata file the kill truncated, see fleet/recovery.py)."""
    stack = Stack(project.root, STACK, project.env)
    path = Path(stack.backend_url.removeprefix("file://")) / ".pulumi/stacks" / stack.project / f"{STACK}.json"
    latest: dict[str, Any] = json.loads(path.read_text())["checkpoint"].get("latest") or {}
    return latest


def live_nodes(api_client: Any) -> list[str]:
    found = client.CoreV1Api(api_client).list_node(label_selector=f"{labels.CLUSTER}={CLUSTER}").items
    return sorted(n.metadata.name for n in found)


def tenant_namespaces(api_client: Any) -> list[str]:
    return sorted(ns.metadata.name for ns in client.CoreV1Api(api_client).list_namespace(label_selector=TENANT_LABEL).items)


def exists(api_client: Any, obj: dict[str, Any]) -> bool:
    from kubernetes import dynamic

    kind = dynamic.DynamicClient(api_client).resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
    try:
        kind.get(name=obj["metadata"]["name"], namespace=obj["metadata"].get("namespace"))
    except client.ApiException as error:
        if error.status == 404:
            return False
        raise
    return True


def assert_converged(project: PulumiProject, api_client: Any) -> None:
    project.pulumi("preview", "--expect-no-changes")
    project.pulumi("refresh", "--preview-only", "--expect-no-changes")
    deployment = state(project)
    assert not deployment.get("pending_operations")
    resources = deployment["resources"]
    nodes_in_state = sorted(n for r in resources if r["type"] == NODES_TYPE for n in r["outputs"]["node_names"])
    assert live_nodes(api_client) == nodes_in_state == NODES
    objects = {
        (r["type"].rsplit(":", 1)[1], r["outputs"]["metadata"].get("namespace"), r["outputs"]["metadata"]["name"])
        for r in resources
        if r["type"].startswith("kubernetes:") and "metadata" in r.get("outputs", {})
    }
    assert {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in PLANNED} <= objects
    assert tenant_namespaces(api_client) == [TENANT] and ("Namespace", None, TENANT) in objects
    assert locks(project) == []


def locks(project: PulumiProject) -> list[Lock]:
    stack = Stack(project.root, STACK, project.env)
    return lock_files(stack.backend_url, stack.project, stack.name)


def assert_cli_left_nothing_running(killed: subprocess.CompletedProcess[str], cli: int) -> None:
    """The CLI's plugins were still running when it died (so something had to stop them), and none is now."""
    assert "plugin processes the pulumi CLI left running" in killed.stdout
    assert session_members(cli) == [], "plugin processes outlived the killed CLI"


# --- the faults, in order ---------------------------------------------------------------------


def test_killed_while_the_simulated_nodes_are_created(project: PulumiProject, api_client: Any, tmp_path: Path) -> None:
    # The first node on the API server: its pool's create is under way, not yet recorded by the engine.
    # That window is as wide as the engine's pace: where the engine recorded every node before the kill
    # landed, this fault did not happen, so the stack is taken down and the kill tried again.
    for attempt in range(3):
        (tmp_path / f"try-{attempt}").mkdir()
        killed, cli = kill_cli_when(project, tmp_path / f"try-{attempt}", lambda _log: bool(live_nodes(api_client)))
        assert killed.returncode != 0
        assert_cli_left_nothing_running(killed, cli)
        # What made every later up fail before: nodes on the API server that the state does not hold.
        recorded = {n for r in state_on_disk(project).get("resources", []) if r["type"] == NODES_TYPE for n in r["outputs"]["node_names"]}
        if set(live_nodes(api_client)) - recorded:
            break
        down = readme(project, "down")
        assert down.returncode == 0, failure(down)
    else:
        pytest.fail("in 3 tries the engine recorded every node before the kill landed: the fault never happened")
    assert locks(project), "the killed CLI's lock is there"

    again = readme(project, "up")
    assert again.returncode == 0, failure(again)
    assert "was interrupted: removed its lock" in again.stdout
    assert "as planned" in again.stdout
    assert_converged(project, api_client)


def kubectl(project: PulumiProject, control_plane: Any, *args: str) -> None:
    subprocess.run([project.env["AION_KUBECTL"], f"--kubeconfig={control_plane.kubeconfig}", *args], check=True, capture_output=True)


def test_drift_by_kubectl_is_reported_then_repaired_by_the_next_up(
    project: PulumiProject, api_client: Any, control_plane: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    quota_key = f"requests.{labels.GPU_RESOURCE}"
    planned = next(o for o in PLANNED if o["kind"] == "ResourceQuota")["spec"]["hard"][quota_key]
    planned_rules = next(o for o in PLANNED if o["kind"] == "Role")["rules"]
    kubectl(project, control_plane, "patch", "resourcequota", "tenant-quota", "-n", TENANT, "--type=merge",
            "-p", json.dumps({"spec": {"hard": {quota_key: "64"}}}))  # fmt: skip
    kubectl(project, control_plane, "delete", "networkpolicy", "default-deny", "-n", TENANT)
    widened = {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["*"]}
    kubectl(project, control_plane, "patch", "role", "tenant-edit", "-n", TENANT, "--type=json",
            "-p", json.dumps([{"op": "add", "path": "/rules/-", "value": widened}]))  # fmt: skip

    stack_file = str(project.stack_file)
    assert show.main(["--kubeconfig", str(control_plane.kubeconfig), "--stack-file", stack_file]) == 1
    printed = capsys.readouterr().out
    assert f"ResourceQuota {TENANT}/tenant-quota: {quota_key} 64 (planned {planned})" in printed
    assert f"NetworkPolicy {TENANT}/default-deny: missing" in printed
    assert f"Role {TENANT}/tenant-edit: differs from the plan" in printed
    # The scheduled drift check says so too, with exit 1.
    check = [sys.executable, "-m", "aion_factory.fleet.drift", "--stack", STACK, "--project", str(project.root)]
    checked = subprocess.run(check, env=project.env, capture_output=True, text=True, check=False)
    assert (checked.returncode, checked.stderr.splitlines()[0]) == (
        1,
        f"drift: stack {STACK}: the cloud differs from the state (changed outside Pulumi)",
    )

    repaired = readme(project, "up")
    assert repaired.returncode == 0, failure(repaired)
    rbac, core = client.RbacAuthorizationV1Api(api_client), client.CoreV1Api(api_client)
    assert core.read_namespaced_resource_quota("tenant-quota", TENANT).spec.hard[quota_key] == planned
    client.NetworkingV1Api(api_client).read_namespaced_network_policy("default-deny", TENANT)
    rules = rbac.read_namespaced_role("tenant-edit", TENANT).rules
    assert [(r.api_groups, r.resources, r.verbs) for r in rules] == [(r["apiGroups"], r["resources"], r["verbs"]) for r in planned_rules]
    assert show.main(["--kubeconfig", str(control_plane.kubeconfig), "--stack-file", stack_file]) == 0
    assert_converged(project, api_client)


def test_kube_apiserver_killed_and_restarted_mid_up(project: PulumiProject, api_client: Any, control_plane: Any, tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    process = start(project, "up", log)
    wait_for(lambda: started("kubernetes:")(log) or process.poll() is not None, timeout_s=600, what="the up under way")
    os.kill(control_plane.state()["pids"]["kube-apiserver"], signal.SIGKILL)
    control_plane.start()  # what `make local` does first: the control plane comes back, state and ports kept
    process.communicate(timeout=900)  # it may finish (the provider retries) or fail: either way, run it again
    again = readme(project, "up")
    assert again.returncode == 0, failure(again)
    assert_converged(project, api_client)


def test_destroy_after_an_interrupted_up_leaves_nothing(project: PulumiProject, api_client: Any, tmp_path: Path) -> None:
    down = readme(project, "down")
    assert down.returncode == 0, failure(down)
    killed, cli = kill_cli_when(project, tmp_path, done_with_a_create_pending(project, "kubernetes:", len(PLANNED) // 2))
    assert killed.returncode != 0
    assert_cli_left_nothing_running(killed, cli)
    assert state_on_disk(project).get("pending_operations"), "the kill left creates under way"

    down = readme(project, "down")
    assert down.returncode == 0, failure(down)
    assert "finishing the interrupted update first" in down.stdout
    assert live_nodes(api_client) == [] and tenant_namespaces(api_client) == []
    assert [o["metadata"]["name"] for o in PLANNED if exists(api_client, o)] == []  # cluster-wide objects included

    # A node left by something else, carrying the project's labels: local-down says so and fails.
    stray = {"metadata": {"name": f"{CLUSTER}-stray", "labels": {labels.POOL: "h100", labels.CLUSTER: CLUSTER}}}
    core = client.CoreV1Api(api_client)
    core.create_node(stray)
    try:
        loud = readme(project, "down")
        assert loud.returncode == 1
        assert f"left behind on the local cluster after the destroy:\n  node {CLUSTER}-stray" in loud.stdout
    finally:
        core.delete_node(f"{CLUSTER}-stray")


def test_killed_half_way_through_the_platform(project: PulumiProject, api_client: Any, tmp_path: Path) -> None:
    killed, cli = kill_cli_when(project, tmp_path, done_with_a_create_pending(project, "kubernetes:", len(PLANNED) // 2))
    assert killed.returncode != 0
    assert_cli_left_nothing_running(killed, cli)
    again = readme(project, "up")
    assert again.returncode == 0, failure(again)
    assert "creates unfinished" in again.stdout
    assert_converged(project, api_client)


def test_killed_near_the_end(project: PulumiProject, api_client: Any, tmp_path: Path) -> None:
    assert readme(project, "down").returncode == 0
    killed, cli = kill_cli_when(project, tmp_path, done("kubernetes:", len(PLANNED) - 2))
    assert killed.returncode != 0
    assert_cli_left_nothing_running(killed, cli)
    again = readme(project, "up")
    assert again.returncode == 0, failure(again)
    assert_converged(project, api_client)


def test_a_hang_up_ends_the_update_cleanly(project: PulumiProject, api_client: Any, tmp_path: Path) -> None:
    """A closed terminal hangs up the README's command: the CLI, in a session of its own, hears it as
    an interrupt and ends its update cleanly (state saved, lock released), instead of running on unseen."""
    assert readme(project, "down").returncode == 0
    log = tmp_path / "events.jsonl"
    process = start(project, "up", log)
    found = wait_for(lambda: pulumi_up_of(process.pid) or process.poll() is not None, what="the pulumi CLI")
    assert process.poll() is None, f"the up ended before it began:\n{process.communicate()[0][-3000:]}"
    [cli] = found
    wait_for(lambda: started("kubernetes:")(log) or process.poll() is not None, timeout_s=600, what="the up under way")
    assert process.poll() is None, f"the up ended before the hang-up:\n{process.communicate()[0][-3000:]}"
    process.send_signal(signal.SIGHUP)
    out, _ = process.communicate(timeout=600)
    assert not psutil.pid_exists(cli) and session_members(cli) == []
    assert locks(project) == [], f"the CLI ended without releasing its lock:\n{out[-3000:]}"
    again = readme(project, "up")
    assert again.returncode == 0, failure(again)
    assert "was interrupted: removed its lock" not in again.stdout  # nothing was left for a recovery to break
    assert_converged(project, api_client)
