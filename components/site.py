"""A site document and the cluster stacks that deploy it.

A site (its power tree, every cluster, every tenant) is one YAML document, the
single source of truth. A cluster stack's config names that document and its
own cluster, and nothing the site already says:

    config:
      aion:site_file: ../sites/aion.yaml   # relative to the stack file
      aion:cluster: h1-c01
      aion:programme: ../programme.yaml    # when the site is one of a programme's

Every stack plans the whole site and deploys its own cluster only; a site of a
programme is planned with the programme, its tenants across sites included. A stack that
holds the whole `aion:` config inline (`aion:site`, `aion:clusters`, `aion:tenants`)
is a one-stack site that deploys every cluster it declares.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .catalog import Catalog
from .config import did_you_mean, spec_from_config
from .errors import SHOWN_CHARS, ConfigError, Problem, shown
from .keys import NAMESPACE, key_path
from .spec import FactorySpec
from .yaml_input import read_yaml as read_yaml  # the one reader of YAML files; modules that read stacks import it from here

SPEC_KEYS = ("site", "clusters", "tenants", "account")
SITE_FILE, CLUSTER, KUBECONFIG, PROGRAMME = "site_file", "cluster", "kubeconfig", "programme"
# The keys a cluster stack of a site document may set: the rest is the site's to say.
STACK_KEYS = (SITE_FILE, CLUSTER, KUBECONFIG, PROGRAMME)


@dataclass(frozen=True)
class SiteStack:
    """What one stack plans (the whole site) and what it deploys (its clusters)."""

    spec: FactorySpec
    clusters: tuple[str, ...]
    site_file: Path | None = None  # None: the site is inline in the stack's config
    kubeconfig: str | None = None  # local target: the cluster's kubeconfig, when the stack names one
    programme_file: Path | None = None  # the programme the site is one of: its tenants across sites, its accounts


def load_site(path: str | Path, catalog: Catalog | None = None) -> FactorySpec:
    """A site document: `site`, `clusters` and `tenants` at its top level, as a stack's `aion:` config holds them."""
    return site_from_document(read_yaml(Path(path), "site document"), path, catalog)


def site_from_document(document: Any, path: str | Path, catalog: Catalog | None = None) -> FactorySpec:
    """The site of an already read site document (`path` names it in messages)."""
    if not isinstance(document, dict) or "site" not in document:
        raise ConfigError([Problem(str(path), "is not a site document; it needs `site:` at its top level (and `clusters:`, `tenants:`)")])
    try:
        return spec_from_config(document, catalog)
    except ConfigError as error:
        # Its keys are the site document's own, not a stack's `aion:` keys.
        raise ConfigError([Problem(f"{path}: {p.path.removeprefix(NAMESPACE + ':')}", p.message) for p in error.problems]) from None


def stack_from_config(values: Mapping[str, Any], stack_dir: Path, catalog: Catalog | None = None) -> SiteStack:
    """A stack's `aion:` values (keyed without namespace): a cluster stack of a site document, or an inline site."""
    if SITE_FILE not in values:
        stray = [key for key in (CLUSTER, KUBECONFIG, PROGRAMME) if key in values]
        if stray:
            raise ConfigError(
                [Problem(key_path([k]), f"needs {key_path([SITE_FILE])}; an inline site deploys all its clusters") for k in stray]
            )
        spec = spec_from_config(values, catalog)
        return SiteStack(spec, tuple(c.name for c in spec.clusters))
    problems = [
        Problem(
            key_path([key if len(key) <= SHOWN_CHARS else shown(key)]),
            f"the site document says this{did_you_mean(key, list(STACK_KEYS))}; "
            f"allowed next to {key_path([SITE_FILE])}: {', '.join(STACK_KEYS)}",
        )
        for key in values
        if key not in STACK_KEYS
    ]
    cluster = values.get(CLUSTER)
    if not isinstance(cluster, str):
        problems.append(Problem(key_path([CLUSTER]), f"{shown(cluster)}: a stack of a site document names its cluster"))
    site_file = values[SITE_FILE]
    if not isinstance(site_file, str) or not site_file:
        problems.append(
            Problem(key_path([SITE_FILE]), f"{shown(site_file)} is not a path; allowed: a site document's path, relative to the stack file")
        )
    kubeconfig = values.get(KUBECONFIG)
    if kubeconfig is not None and not isinstance(kubeconfig, str):
        problems.append(Problem(key_path([KUBECONFIG]), f"{shown(kubeconfig)} is not a path"))
    programme = values.get(PROGRAMME)
    if programme is not None and (not isinstance(programme, str) or not programme):
        problems.append(
            Problem(
                key_path([PROGRAMME]), f"{shown(programme)} is not a path; allowed: a programme document's path, relative to the stack file"
            )
        )
    if problems:
        raise ConfigError(problems)
    path = (stack_dir / site_file).resolve()
    spec = load_site(path, catalog)
    names = [c.name for c in spec.clusters]
    if cluster not in names:
        raise ConfigError(
            [Problem(key_path([CLUSTER]), f"{shown(cluster)} is not a cluster of {path}; its clusters: {', '.join(names) or 'none'}")]
        )
    programme_file = (stack_dir / programme).resolve() if programme else None
    return SiteStack(spec, (str(cluster),), path, kubeconfig, programme_file)


def stack_values(document: Any, path: Path) -> dict[str, Any]:
    """The `aion:` values of a Pulumi stack file's document, keyed without namespace."""
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise ConfigError([Problem(str(path), "has no `config:` mapping; a Pulumi stack file holds its settings there")])
    prefix = f"{NAMESPACE}:"
    return {str(key)[len(prefix) :]: value for key, value in config.items() if str(key).startswith(prefix)}


def load_stack(path: str | Path, catalog: Catalog | None = None) -> SiteStack:
    """A Pulumi stack file (Pulumi.<stack>.yaml): the site it plans and the clusters it deploys."""
    path = Path(path)
    return stack_from_config(stack_values(read_yaml(path, "stack file"), path), path.parent, catalog)


def load_stack_file(path: str | Path, catalog: Catalog | None = None) -> FactorySpec:
    """The whole site a stack file plans (its own clusters and every other cluster of its site)."""
    return load_stack(path, catalog).spec
