"""The environment variables the library reads, named once.

The toolchain bootstrap (scripts/bootstrap-toolchain.sh) and scripts/pulumi-env.sh set them
for the local stack; the tests and benchmarks set them for their own control planes.
"""

from __future__ import annotations

import os
from pathlib import Path

# The local cluster's kubeconfig; without it, the one `make local` writes.
LOCAL_KUBECONFIG = "AION_LOCAL_KUBECONFIG"
DEFAULT_LOCAL_KUBECONFIG = Path(".state/local/kubeconfig")


def local_kubeconfig() -> str:
    return os.environ.get(LOCAL_KUBECONFIG) or str(DEFAULT_LOCAL_KUBECONFIG.resolve())


# The folder of the stack file a runner selected (`aion fleet`): a site document's path is relative to
# it. Pulumi tells a program its project's folder (Pulumi.yaml's), never its stack file's, and a stack
# file may live elsewhere (`--config-file`); the runner that picked it says where.
STACK_DIR = "AION_STACK_DIR"
