"""Writes the 1 GW programme's site documents (sites/*.yaml) from the figures below: run it after
changing one, then `aion fleet stacks examples/aion-1gw/programme.yaml --project examples/aion-1gw` (a stack file per
cluster of every site, naming its site document and the programme). The documents are what the
stacks read; this script is only how they were made, every assumption stated here and
copied into each document's header.

    .venv/bin/python examples/aion-1gw/generate.py

Sources (/work/shared/DOMAIN.md lists them):
- AION relaunched in June 2026: "a first phase of 100 MW growing to 1 GW, on several EDF industrial
  sites with high-voltage connections" (World Nuclear News, NEI Magazine, Maddyness, June 2026).
- Montereau-Vallee-de-la-Seine (a former EDF plant, OpCore): "up to 700 MW grid connection,
  first power 2027".
- PUE 1.15: OpCore DC5's reported figure (1.17 live). 1.2: the top of the 1.15 to 1.2 range DOMAIN.md
  gives for new GPU halls; an assumption for sites with no published figure.
- Node types and power: components/data/catalog.yaml (B300-SXM-8-288G 14.5 kW, an estimate at the DC
  bus from NVIDIA's DGX B300 datasheet; H100-SXM-8-80G 10.2 kW, DGX H100 user guide). Both are offered
  in fr-par-2 only (Scaleway's listing), so every cluster is in fr-par-2.
Assumptions (no source): the phase dates after 2027 and each phase's megawatts; the second and third
sites' names (placeholders: EDF has not said which sites) and their PUE; hall sizes (a site's IT budget
split evenly); 8 or 9 clusters a hall; GPU pools filled to 99 percent of their hall; 7 tenants a
cluster sharing 90 percent of its GPU power, and 12 tenants across the three sites sharing 5 percent.
"""

from __future__ import annotations

import ipaddress
import math
from pathlib import Path

import yaml

HERE = Path(__file__).parent
PHASES = [("p1", "2027-06"), ("p2", "2028-06"), ("p3", "2029-06")]  # assumption: a phase a year from first power
SYSTEM_W = 2 * 18.4  # two POP2-4C-16G system nodes a cluster (catalog: 18.4 W each)
FILL = 0.99  # of a hall's budget, for its GPU pools
LOCAL_TENANTS, LOCAL_SHARE, SPANNING_TENANTS, SPANNING_SHARE = 7, 0.90, 12, 0.05
NODE_W = {"B300-SXM-8-288G": 14_500, "H100-SXM-8-80G": 10_200}

# name, PUE, its source, facility MW from each phase on, halls (each: the phase it is powered from and its
# share of the site's IT budget from each phase on, 1.0 = its full size), clusters a hall, node type, prefix
SITES = [
    {
        "name": "montereau",
        "pue": 1.15,
        "pue_source": "OpCore DC5's reported PUE; assumption: the new campus matches it",
        "mw": {"p1": 100, "p2": 250, "p3": 500},
        "connection": "DOMAIN.md: up to 700 MW grid connection, first power 2027 (500 MW used: assumption)",
        "halls": [("p1", {})] * 2 + [("p2", {})] * 3 + [("p3", {})] * 5,
        "clusters_per_hall": 8,
        "node_type": "B300-SXM-8-288G",
        "prefix": "mo",
    },
    {
        "name": "site-b",
        "pue": 1.2,
        "pue_source": "assumption: the top of DOMAIN.md's 1.15 to 1.2 for GPU halls",
        "mw": {"p2": 150, "p3": 300},
        "connection": "assumption: a second EDF industrial site, energized in two tranches",
        "halls": [("p2", {"p2": 0.5, "p3": 1.0})] * 6,  # every hall at half its power in p2, full in p3
        "clusters_per_hall": 9,
        "node_type": "H100-SXM-8-80G",
        "prefix": "sb",
    },
    {
        "name": "site-c",
        "pue": 1.2,
        "pue_source": "assumption: the top of DOMAIN.md's 1.15 to 1.2 for GPU halls",
        "mw": {"p3": 200},
        "connection": "assumption: a third EDF industrial site, energized in the last phase",
        "halls": [("p3", {})] * 4,
        "clusters_per_hall": 8,
        "node_type": "B300-SXM-8-288G",
        "prefix": "sc",
    },
]


def site_document(site: dict, spanning: dict[str, list[str]]) -> tuple[dict, dict[str, dict[str, float]]]:
    """The site document, and each cluster's GPU kW from each phase on (for the tenants' allotments)."""
    names = [p for p, _ in PHASES]
    first = min(site["mw"], key=names.index)
    final_it_kw = site["mw"][names[-1]] * 1000 / site["pue"]
    hall_kw = math.floor(final_it_kw / len(site["halls"]))
    halls, clusters, cluster_kw = [], [], {}
    subnets = ipaddress.ip_network("172.16.0.0/12").subnets(new_prefix=22)
    for h, (from_phase, shares) in enumerate(site["halls"], start=1):
        hall = {"name": f"hall-{h:02d}", "it_power_kw": hall_kw}
        if shares:
            start = min(shares, key=names.index)
            hall["it_power_kw"] = math.floor(hall_kw * shares[start])
            hall["by_phase"] = {p: math.floor(hall_kw * s) for p, s in shares.items() if p != start}
        if from_phase != names[0]:
            hall["from_phase"] = from_phase
        halls.append(hall)
        budgets = {p: math.floor(hall_kw * s) for p, s in (shares or {from_phase: 1.0}).items()}
        for c in range(1, site["clusters_per_hall"] + 1):
            name = f"{site['prefix']}-h{h:02d}-c{c:02d}"
            sizes = {
                p: int((kw * 1000 * FILL / site["clusters_per_hall"] - SYSTEM_W) // NODE_W[site["node_type"]]) for p, kw in budgets.items()
            }
            start = min(sizes, key=names.index)
            pool = {"name": "gpu", "node_type": site["node_type"], "size": sizes[start]}
            if len(sizes) > 1:
                pool["by_phase"] = {p: n for p, n in sizes.items() if p != start}
            cluster = {"name": name, "target": "scaleway", "zone": "fr-par-2", "hall": hall["name"], "subnet": str(next(subnets))}
            if from_phase != names[0]:
                cluster["from_phase"] = from_phase
            cluster["pools"] = [pool]
            clusters.append(cluster)
            cluster_kw[name] = {p: n * NODE_W[site["node_type"]] / 1000 for p, n in sizes.items()}
    site_mw = dict(site["mw"])
    document = {
        "site": {
            "name": site["name"],
            "facility_power_mw": site_mw.pop(first),
            **({"by_phase": site_mw} if site_mw else {}),
            **({"from_phase": first} if first != names[0] else {}),
            "pue": site["pue"],
            "halls": halls,
        },
        "phases": [{"name": n, "date": d} for n, d in PHASES],
        "clusters": clusters,
        "tenants": [tenant for name in cluster_kw for tenant in _local_tenants(name, cluster_kw[name])],
    }
    return document, cluster_kw


def _local_tenants(cluster: str, gpu_kw: dict[str, float]) -> list[dict]:
    tenants = []
    for k in range(1, LOCAL_TENANTS + 1):
        figures = {p: round(kw * LOCAL_SHARE / LOCAL_TENANTS, 1) for p, kw in gpu_kw.items()}
        start = next(iter(figures))
        tenant = {"name": f"{cluster}-t{k}", "power_kw": figures.pop(start), "clusters": [cluster]}
        if figures:
            tenant["by_phase"] = figures
        tenants.append(tenant)
    return tenants


def spanning_tenants(cluster_kw: dict[str, dict[str, dict[str, float]]]) -> list[dict]:
    """Tenant i runs on the i-th cluster of every site; its allotment from each phase on is 5 percent of
    the GPU power of those of its clusters that exist then (rounded down to 0.1 kW)."""
    names = [p for p, _ in PHASES]
    tenants = []
    for i in range(SPANNING_TENANTS):
        clusters = {site: list(kw)[i] for site, kw in cluster_kw.items()}
        power = {}
        for p in names:
            total = 0.0
            for site, cluster in clusters.items():
                known = [q for q in cluster_kw[site][cluster] if names.index(q) <= names.index(p)]
                total += cluster_kw[site][cluster][known[-1]] if known else 0.0
            power[p] = math.floor(total * SPANNING_SHARE * 10) / 10
        tenant = {"name": f"lab-{i + 1:02d}", "power_kw": power["p1"], "clusters": [f"{s}/{c}" for s, c in clusters.items()]}
        tenant["by_phase"] = {p: kw for p, kw in power.items() if p != "p1"}
        tenants.append(tenant)
    return tenants


HEADER = """# yaml-language-server: $schema=../../../stacks/aion-site.schema.json
# Site {name} of the AION 1 GW programme (../programme.yaml). Generated by ../generate.py: change the
# figures there, not here. Assumptions and sources (every figure not cited is an assumption):
# - connection: {connection}; facility MW from each phase on: {mw}
# - PUE {pue}: {pue_source}
# - halls: the site's final IT budget split evenly; {clusters_per_hall} clusters a hall of {node_type}
#   (catalog: {node_kw} kW a node), GPU pools filled to 99% of their hall's budget in each phase
# - tenants: 7 a cluster sharing 90% of its GPU power; the programme's tenants take 5% more
# - phases: p1 2027-06 (DOMAIN.md: Montereau's first power 2027), p2 2028-06, p3 2029-06 (assumption)
"""
PROGRAMME_HEADER = """# yaml-language-server: $schema=../../stacks/aion-programme.schema.json
# The AION programme at 1 GW: three sites, three phases (100, 400 and 1,000 MW at the facility).
# Generated by generate.py, whose docstring gives every source and assumption; each site document
# repeats its own. AION's first phase is 100 MW growing to 1 GW on several EDF industrial sites
# (World Nuclear News, NEI Magazine, Maddyness, June 2026); Montereau (former EDF plant, OpCore) has
# a grid connection of up to 700 MW with first power in 2027 (DOMAIN.md); the two other sites are
# placeholders (assumption). The organization and projects are assumptions too.
# Plan it: aion plan examples/aion-1gw/programme.yaml   (one phase: --phase p1)
"""


def main() -> None:
    (HERE / "sites").mkdir(exist_ok=True)
    cluster_kw = {}
    for site in SITES:
        document, cluster_kw[site["name"]] = site_document(site, {})
        header = HEADER.format(**site, node_kw=NODE_W[site["node_type"]] / 1000)
        text = yaml.safe_dump(document, sort_keys=False, default_flow_style=None, width=140)
        (HERE / "sites" / f"{site['name']}.yaml").write_text(header + text)
    programme = {
        "programme": "aion-1gw",
        "accounts": [{"organization": "aion", "projects": [f"aion-{site['name']}" for site in SITES]}],
        "sites": [{"file": f"sites/{site['name']}.yaml", "organization": "aion", "project": f"aion-{site['name']}"} for site in SITES],
        "tenants": spanning_tenants(cluster_kw),
    }
    text = yaml.safe_dump(programme, sort_keys=False, default_flow_style=None, width=140)
    (HERE / "programme.yaml").write_text(PROGRAMME_HEADER + text)


if __name__ == "__main__":
    main()
