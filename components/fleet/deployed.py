"""What each cluster's stack deploys, as one JSON document per cluster: the platform's rendered
objects, Kueue's install (chart, version, values) and the cluster view the target builds its
infrastructure from (pools, sizes, zone, subnet, versions: every input of the Kapsule cluster
and pools). Two equal documents, built by the same registration code at the same provider pins,
deploy the same resources; `fleet/changes.py` compares them and `fleet/baseline.py` asks a git
revision's own code for its documents.

Each cluster is rendered as its stack deploys it today (`programme_stack.site_now`: the current
phase, with its site's shares of a programme's tenants across sites). `python -m aion_factory.fleet.deployed
FILE` prints `{cluster: document}` as JSON for a site document, `{SITE/CLUSTER: document}` for a
programme: the protocol between two revisions of the toolkit, so keep it stable (the version
field says which).
Pure but for importing each target's adapter (its platform choices).
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..errors import ConfigError, format_problems
from ..planner import LevelDerate, make_plan
from ..platform.manifest import platform_manifest
from ..power_event import derates_beside
from ..programme import Programme, is_programme, programme_from_document, programme_of_site
from ..programme_plan import plan_programme
from ..programme_stack import site_now
from ..site import read_yaml, site_from_document
from ..spec import FactorySpec
from ..target import target_for
from ..view import ClusterView, cluster_views

# Bumped when a document's shape changes: a base printing another version is compared as "all changed".
DOCUMENT_VERSION = 1
Document = dict[str, Any]


def deployed_documents(spec: FactorySpec, derates: tuple[LevelDerate, ...] = ()) -> dict[str, Document]:
    """Every cluster of `spec`, by name: what its stack deploys (with the power events `derates` in force)."""
    return {view.name: cluster_document(view) for view in cluster_views(spec, make_plan(spec, derates=derates))}


def documents_of(path: str | Path) -> dict[str, Document]:
    """What the clusters of the site or programme document at `path` deploy today."""
    path = Path(path)
    document = read_yaml(path, "site or programme document")
    if is_programme(document):
        return programme_documents(programme_from_document(document, path), keyed=True)
    spec = site_from_document(document, path)
    return programme_documents(programme_of_site(spec, str(path), path), keyed=False)


def programme_documents(programme: Programme, keyed: bool, today: datetime.date | None = None) -> dict[str, Document]:
    """What every cluster of the programme's sites deploys `today`, by name (SITE/CLUSTER where
    `keyed`): each site as its stacks deploy it (`programme_stack.site_now`: the current phase, its
    shares of the tenants across sites), with the power events beside it in force (a derate
    committed beside a site changes the clusters whose caps, quotas or queues it moves). Nothing
    before the first phase's date."""
    plan = plan_programme(programme)
    documents = {}
    for site in programme.sites:
        now = site_now(plan, site.spec.site.name, today or datetime.date.today())
        if now is None:
            continue
        derates = derates_beside(site.file, site.spec)[1] if site.file else ()
        for name, document in deployed_documents(now.view.spec, derates).items():
            documents[f"{site.spec.site.name}/{name}" if keyed else name] = document
    return documents


def cluster_document(view: ClusterView) -> Document:
    # Its position in the site's list only words messages: a moved cluster deploys the same.
    view = dataclasses.replace(view, index=0)
    choices = target_for(view.target).platform_choices(view)
    kueue = choices.kueue
    document: Document = _plain(
        {
            "version": DOCUMENT_VERSION,
            "target": view.target,
            "objects": platform_manifest(view, choices.storage).objects(),
            "kueue": {"mode": kueue.mode, "version": kueue.version, "chart": kueue.chart, "values": kueue.values()},
            "infrastructure": view,
        }
    )
    return document


def canonical(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def deployed_diff(before: Mapping[str, Document], after: Mapping[str, Document], clusters: list[str], base: str) -> str:
    """A unified diff per cluster of what it deploys (indented JSON, keys sorted), `base` against now."""

    def lines(document: Document | None) -> list[str]:
        return [] if document is None else json.dumps(document, indent=1, sort_keys=True).splitlines(keepends=True)

    return "".join("".join(difflib.unified_diff(lines(before.get(c)), lines(after.get(c)), f"{c} at {base}", f"{c} now")) for c in clusters)


def _plain(value: Any) -> Any:
    """JSON values only: dataclasses and pydantic models as mappings, tuples as lists."""
    if isinstance(value, BaseModel):
        return _plain(value.model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m aion_factory.fleet.deployed SITE_OR_PROGRAMME_DOCUMENT", file=sys.stderr)
        return 2
    try:
        documents = documents_of(argv[0])
    except ConfigError as error:
        print(format_problems(error.problems, "the site cannot be rendered:"), file=sys.stderr)
        return 2
    print(canonical(documents))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
