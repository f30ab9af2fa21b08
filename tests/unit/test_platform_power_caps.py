"""GPU power caps and sharing: the DaemonSet applies the cap the planner counted, on its pool only."""

import subprocess
from pathlib import Path
from typing import Any

import yaml
from kube_validation import assert_valid_builtin

from aion_factory import load_stack_file, make_plan, spec_from_config
from aion_factory.labels import pool_selector
from aion_factory.platform import power_caps
from support import ROOT, view_of

SPEC = load_stack_file(ROOT / "stacks/Pulumi.local.yaml")
PLAN = make_plan(SPEC)
VIEW = view_of(SPEC, "local")


def container(daemonset: dict[str, Any]) -> dict[str, Any]:
    [only] = daemonset["spec"]["template"]["spec"]["containers"]
    return only


def test_one_daemonset_per_capped_pool_with_the_planners_cap():
    [daemonset] = power_caps.power_cap_daemonsets(VIEW)
    [h100] = [p for p in PLAN.pools_of("local") if p.gpu_power_cap_w is not None]
    assert (daemonset["metadata"]["name"], daemonset["metadata"]["namespace"]) == ("gpu-power-cap-h100", "aion-system")
    env = {e["name"]: e["value"] for e in container(daemonset)["env"]}
    assert env["GPU_POWER_CAP_W"] == str(h100.gpu_power_cap_w) == "600"
    assert daemonset["metadata"]["annotations"]["aion-factory.io/gpu-power-cap-w"] == "600"
    assert_valid_builtin(daemonset)


def test_the_daemonset_runs_on_its_pool_only_and_tolerates_its_taints():
    [daemonset] = power_caps.power_cap_daemonsets(VIEW)
    pod = daemonset["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == pool_selector("local", "h100")
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}]
    assert container(daemonset)["securityContext"]["privileged"] is True
    assert daemonset["spec"]["selector"]["matchLabels"] == daemonset["spec"]["template"]["metadata"]["labels"]


def test_another_stack_caps_its_own_pool():
    spec = load_stack_file(ROOT / "stacks/Pulumi.dc5-train-1.yaml")
    [daemonset] = power_caps.power_cap_daemonsets(view_of(spec, "train-1"))
    assert daemonset["spec"]["template"]["spec"]["nodeSelector"] == pool_selector("train-1", "b300")
    assert {e["name"]: e["value"] for e in container(daemonset)["env"]}["GPU_POWER_CAP_W"] == "1000"


def test_the_system_namespace_allows_privileged_pods():
    labels = power_caps.system_namespace()["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"


def fake_tools(tmp_path: Path, limit_w: str, sleeps_before_stop: int, refuse: bool = False) -> dict[str, str]:
    """A driver root with a fake nvidia-smi, a chroot that does not chroot, and a sleep
    that resets the limit once (a driver reload) and stops the loop after a few rounds."""
    state, calls, bin_dir = tmp_path / "limit", tmp_path / "calls", tmp_path / "bin"
    driver_bin = tmp_path / "driver/usr/bin"
    driver_bin.mkdir(parents=True)
    bin_dir.mkdir()
    state.write_text(limit_w)
    scripts = {
        driver_bin / "nvidia-smi": f"""#!/bin/sh
if [ "$1" = "-pl" ] && {"true" if refuse else "false"}; then echo "refused" >&2; exit 1; fi
if [ "$1" = "-pl" ]; then echo "$2" > {state}; echo "-pl $2" >> {calls}; exit 0; fi
for gpu in 0 1; do echo "$(cat {state}).00"; done
""",
        bin_dir / "chroot": '#!/bin/sh\nroot="$1"; tool="$2"; shift 2\nexec "$root/usr/bin/$tool" "$@"\n',
        bin_dir / "sleep": f"""#!/bin/sh
n=$(( $(cat {tmp_path}/sleeps 2>/dev/null || echo 0) + 1 )); echo $n > {tmp_path}/sleeps
[ $n -eq 1 ] && echo 700 > {state}
[ $n -ge {sleeps_before_stop} ] && kill $PPID
exit 0
""",
    }
    for path, text in scripts.items():
        path.write_text(text)
        path.chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "DRIVER_ROOT": str(tmp_path / "driver"), "GPU_POWER_CAP_W": "600", "CHECK_INTERVAL_S": "0"}


def run_script(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    [daemonset] = power_caps.power_cap_daemonsets(VIEW)
    spec = container(daemonset)
    return subprocess.run([*spec["command"], *spec["args"]], env=env, capture_output=True, text=True, timeout=20)


def test_the_script_sets_the_cap_and_sets_it_again_after_a_driver_reload(tmp_path: Path):
    env = fake_tools(tmp_path, limit_w="700", sleeps_before_stop=3)
    run_script(env)
    # Round 1: 700 W -> set. Reload resets to 700 W. Round 2: set again. Round 3: 600 W, nothing to do.
    assert (tmp_path / "calls").read_text().splitlines() == ["-pl 600", "-pl 600"]
    assert (tmp_path / "limit").read_text().strip() == "600"


def test_the_script_waits_for_the_driver(tmp_path: Path):
    env = fake_tools(tmp_path, limit_w="700", sleeps_before_stop=1)
    (tmp_path / "driver/usr/bin/nvidia-smi").unlink()
    result = run_script(env)
    assert "waiting for the NVIDIA driver" in result.stdout
    assert not (tmp_path / "calls").exists()


def test_the_script_fails_loudly_when_the_driver_refuses_the_cap(tmp_path: Path):
    env = fake_tools(tmp_path, limit_w="700", sleeps_before_stop=3, refuse=True)
    assert run_script(env).returncode == 1  # the pod restarts and shows up as crash-looping


def test_time_slicing_config_has_one_key_per_shared_pool(config: dict[str, Any]):
    assert power_caps.time_slicing_config(VIEW) is None
    config["clusters"][0]["pools"][1]["sharing"] = {"time_slicing_replicas": 4}
    config_map = power_caps.time_slicing_config(view_of(spec_from_config(config), "c"))
    assert config_map is not None
    assert (config_map["metadata"]["name"], config_map["metadata"]["namespace"]) == ("aion-time-slicing", "kube-system")
    assert list(config_map["data"]) == ["l4"]
    plugin_config = yaml.safe_load(config_map["data"]["l4"])
    assert plugin_config == {"version": "v1", "sharing": {"timeSlicing": {"resources": [{"name": "nvidia.com/gpu", "replicas": 4}]}}}
    assert_valid_builtin(config_map)
