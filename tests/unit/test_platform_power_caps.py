"""GPU power caps and sharing: the DaemonSet applies the cap the planner counted, on its pool only."""

import subprocess
from pathlib import Path
from typing import Any

import yaml
from kube_validation import assert_valid_builtin

from aion_factory import load_stack_file, make_plan, spec_from_config
from aion_factory.labels import pool_selector
from aion_factory.platform import power_caps
from support import ROOT, power_cap_configs, view_of

SPEC = load_stack_file(ROOT / "stacks/Pulumi.local.yaml")
PLAN = make_plan(SPEC)
VIEW = view_of(SPEC, "local")


def container(daemonset: dict[str, Any]) -> dict[str, Any]:
    [only] = daemonset["spec"]["template"]["spec"]["containers"]
    return only


def by_pool(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["labels"]["aion-factory.io/pool"]: obj for obj in objects if obj["kind"] == kind}


def test_every_gpu_pool_has_its_cap_in_a_config_map_the_planners_or_the_gpus_default():
    objects = power_caps.power_cap_objects(VIEW)
    [h100] = [p for p in PLAN.pools_of("local") if p.gpu_power_cap_w is not None]
    assert power_cap_configs(VIEW) == {"h100": str(h100.gpu_power_cap_w), "l40s": "default"} == {"h100": "600", "l40s": "default"}
    daemonsets, configs = by_pool(objects, "DaemonSet"), by_pool(objects, "ConfigMap")
    assert set(daemonsets) == set(configs) == {"h100", "l40s"}
    daemonset = daemonsets["h100"]
    assert (daemonset["metadata"]["name"], daemonset["metadata"]["namespace"]) == ("gpu-power-cap-h100", "aion-system")
    assert (configs["h100"]["metadata"]["name"], configs["h100"]["metadata"]["namespace"]) == ("gpu-power-cap-h100", "aion-system")
    assert daemonset["metadata"]["annotations"]["aion-factory.io/gpu-power-cap-w"] == "600"
    for obj in objects:
        assert_valid_builtin(obj)


def test_the_cap_is_read_from_the_mounted_config_map_so_a_change_needs_no_new_pod():
    daemonset = by_pool(power_caps.power_cap_objects(VIEW), "DaemonSet")["h100"]
    pod = daemonset["spec"]["template"]["spec"]
    [cap_volume] = [v for v in pod["volumes"] if "configMap" in v]
    assert cap_volume["configMap"]["name"] == "gpu-power-cap-h100"
    [mount] = [m for m in container(daemonset)["volumeMounts"] if m["name"] == cap_volume["name"]]
    assert "subPath" not in mount  # a subPath mount is never refreshed by the kubelet
    env = {e["name"]: e["value"] for e in container(daemonset)["env"]}
    assert env["CAP_FILE"] == f"{mount['mountPath']}/cap_w"
    assert "600" not in str(daemonset["spec"]["template"])  # the cap is nowhere in the pod template: changing it restarts nothing


def test_the_daemonset_runs_on_its_pool_only_and_tolerates_its_taints():
    daemonset = by_pool(power_caps.power_cap_objects(VIEW), "DaemonSet")["h100"]
    pod = daemonset["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == pool_selector("local", "h100")
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}]
    assert container(daemonset)["securityContext"]["privileged"] is True
    assert daemonset["spec"]["selector"]["matchLabels"] == daemonset["spec"]["template"]["metadata"]["labels"]


def test_another_stack_caps_its_own_pool():
    spec = load_stack_file(ROOT / "stacks/Pulumi.dc5-train-1.yaml")
    view = view_of(spec, "train-1")
    daemonset = by_pool(power_caps.power_cap_objects(view), "DaemonSet")["b300"]
    assert daemonset["spec"]["template"]["spec"]["nodeSelector"] == pool_selector("train-1", "b300")
    assert power_cap_configs(view)["b300"] == "1000"


def test_the_system_namespace_allows_privileged_pods():
    labels = power_caps.system_namespace()["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"


# What `nvidia-smi -q -d POWER` prints for one H100 SXM on driver 570 (two of the node's GPUs shown):
# the GPU's readings, then the memory's and the module's, which have no limits (N/A).
def power_report(limit_w: str, min_w: str = "200.00", max_w: str = "700.00", default_w: str = "700.00") -> str:
    gpu = f"""GPU 00000000:{{bus}}:00.0
    GPU Power Readings
        Average Power Draw                : 71.32 W
        Instantaneous Power Draw          : 70.95 W
        Current Power Limit               : {limit_w} W
        Requested Power Limit             : {limit_w} W
        Default Power Limit               : {default_w} W
        Min Power Limit                   : {min_w} W
        Max Power Limit                   : {max_w} W
    GPU Memory Power Readings 
        Average Power Draw                : N/A
        Instantaneous Power Draw          : N/A
    Module Power Readings
        Average Power Draw                : N/A
        Instantaneous Power Draw          : N/A
        Current Power Limit               : N/A
        Requested Power Limit             : N/A
        Default Power Limit               : N/A
        Min Power Limit                   : N/A
        Max Power Limit                   : N/A
    Power Smoothing                       : Disabled
    Workload Power Profiles
        Requested Profiles                : N/A
        Enforced Profiles                 : N/A
"""
    header = """
==============NVSMI LOG==============

Timestamp                                 : Mon Dec  7 03:12:44 2026
Driver Version                            : 570.124.06
CUDA Version                              : 12.8

Attached GPUs                             : 2
"""
    return header + gpu.replace("{bus}", "18") + "\n" + gpu.replace("{bus}", "2A") + "\n"


def fake_tools(
    tmp_path: Path, limit_w: str, sleeps_before_stop: int, cap: str = "600", refuse: bool = False, on_sleep: str = ""
) -> dict[str, str]:
    """A driver root with a fake nvidia-smi (its limit in a file, -q -d POWER as a driver prints it), a chroot
    that does not chroot, the cap file the ConfigMap mounts, and a sleep that resets the limit once (a driver
    reload), runs `on_sleep` on the second round, and stops the loop after a few rounds."""
    state, calls, bin_dir, cap_file = tmp_path / "limit", tmp_path / "calls", tmp_path / "bin", tmp_path / "cap_w"
    driver_bin = tmp_path / "driver/usr/bin"
    driver_bin.mkdir(parents=True)
    bin_dir.mkdir()
    state.write_text(limit_w)
    cap_file.write_text(cap)
    (tmp_path / "report").write_text(power_report("@LIMIT@"))
    scripts = {
        driver_bin / "nvidia-smi": f"""#!/bin/sh
if [ "$1" = "-pl" ] && {"true" if refuse else "false"}; then echo "refused" >&2; exit 1; fi
if [ "$1" = "-pl" ]; then echo "$2" > {state}; echo "-pl $2" >> {calls}; exit 0; fi
if [ "$1" = "-q" ]; then sed "s/@LIMIT@/$(cat {state}).00/" {tmp_path}/report; exit 0; fi
for gpu in 0 1; do echo "$(cat {state}).00"; done
""",
        bin_dir / "chroot": '#!/bin/sh\nroot="$1"; tool="$2"; shift 2\nexec "$root/usr/bin/$tool" "$@"\n',
        bin_dir / "sleep": f"""#!/bin/sh
n=$(( $(cat {tmp_path}/sleeps 2>/dev/null || echo 0) + 1 )); echo $n > {tmp_path}/sleeps
[ $n -eq 1 ] && echo 700 > {state}
[ $n -eq 2 ] && {{ {on_sleep or "true"}; }}
[ $n -ge {sleeps_before_stop} ] && kill $PPID
exit 0
""",
    }
    for path, text in scripts.items():
        path.write_text(text)
        path.chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "DRIVER_ROOT": str(tmp_path / "driver"), "CAP_FILE": str(cap_file), "CHECK_INTERVAL_S": "0"}


def run_script(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    daemonset = by_pool(power_caps.power_cap_objects(VIEW), "DaemonSet")["h100"]
    spec = container(daemonset)
    assert {e["name"] for e in spec["env"]} == {"CAP_FILE", "CHECK_INTERVAL_S", "DRIVER_ROOT"}  # the test sets them all
    return subprocess.run([*spec["command"], *spec["args"]], env=env, capture_output=True, text=True, timeout=20)


def test_the_script_sets_the_cap_and_sets_it_again_after_a_driver_reload(tmp_path: Path):
    env = fake_tools(tmp_path, limit_w="700", sleeps_before_stop=3)
    run_script(env)
    # Round 1: 700 W -> set. Reload resets to 700 W. Round 2: set again. Round 3: 600 W, nothing to do.
    assert (tmp_path / "calls").read_text().splitlines() == ["-pl 600", "-pl 600"]
    assert (tmp_path / "limit").read_text().strip() == "600"


def test_a_new_cap_in_the_config_map_applies_on_the_next_round_without_a_restart(tmp_path: Path):
    # A derate writes 450 W into the ConfigMap while the loop runs: the same process sets it.
    env = fake_tools(tmp_path, limit_w="600", sleeps_before_stop=3, on_sleep=f"echo 450 > {tmp_path}/cap_w")
    result = run_script(env)
    # Round 1: 600 W, nothing. A reload resets 700 W. Round 2: set 600. The ConfigMap now says 450. Round 3: set 450.
    assert (tmp_path / "calls").read_text().splitlines() == ["-pl 600", "-pl 450"], result.stdout
    assert "power limit 600.00 W is not the cap of 450 W: setting it" in result.stdout


def test_default_sets_the_gpus_own_default_limit_back(tmp_path: Path):
    env = fake_tools(tmp_path, limit_w="450", sleeps_before_stop=1, cap="default")
    run_script(env)
    assert (tmp_path / "calls").read_text().splitlines() == ["-pl 700"]  # the report's Default Power Limit


def test_a_cap_outside_the_nodes_own_range_is_refused_at_run_time(tmp_path: Path):
    # 150 W is under the H100's 200 W minimum that the driver reports: the catalog is not the only check.
    for cap, why in (
        ("150", "outside this node's range of 200 to 700 W"),
        ("800", "outside this node's range of 200 to 700 W"),
        ("6OO", "not a whole number"),
    ):
        folder = tmp_path / cap
        folder.mkdir()
        result = run_script(fake_tools(folder, limit_w="700", sleeps_before_stop=3, cap=cap))
        assert result.returncode == 1, result.stdout  # the pod restarts and shows up as crash-looping
        assert why in result.stdout
        assert not (folder / "calls").exists()  # nvidia-smi -pl never ran
        assert (folder / "limit").read_text().strip() == "700"


def test_the_script_leaves_the_limit_alone_when_it_cannot_read_the_range(tmp_path: Path):
    env = fake_tools(tmp_path, limit_w="700", sleeps_before_stop=1)
    (tmp_path / "report").write_text("No devices were found\n")
    result = run_script(env)
    assert "cannot read this node's power limits" in result.stdout
    assert not (tmp_path / "calls").exists()


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
