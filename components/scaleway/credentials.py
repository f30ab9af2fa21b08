"""Scaleway credentials: from the environment or Pulumi secrets, never from a plain stack file.

The Scaleway target's preflight checks them before any resource is registered, so
a stack without credentials fails at once with a message that says what to set,
instead of a provider error halfway through a preview.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pulumi
import pulumi.runtime

from ..errors import Problem


@dataclass(frozen=True)
class Credential:
    env: str
    config: str


CREDENTIALS = (
    Credential("SCW_ACCESS_KEY", "scaleway:accessKey"),
    Credential("SCW_SECRET_KEY", "scaleway:secretKey"),
    Credential("SCW_DEFAULT_PROJECT_ID", "scaleway:projectId"),
)


def credential_problems(env: Mapping[str, str], config: Callable[[str], object], is_secret: Callable[[str], bool]) -> list[Problem]:
    """One problem per credential that is missing or stored in plain text; empty when all is well.

    A value in the stack config must be a Pulumi secret: a plain one sits in
    Pulumi.<stack>.yaml, in git, whether or not the environment also has it.
    """
    problems = []
    for credential in CREDENTIALS:
        name = credential.config
        in_config = config(name) not in (None, "")
        if in_config and not is_secret(name):
            problems.append(
                Problem(
                    name,
                    f"is stored in plain text in the stack config; remove it (`pulumi config rm {name}`) and set it with "
                    f"`pulumi config set --secret {name} ...`, or export {credential.env}",
                )
            )
        elif not in_config and not env.get(credential.env):
            problems.append(
                Problem(name, f"{credential.env} is not set; export it, or set the secret `pulumi config set --secret {name} ...`")
            )
    return problems


def missing_credentials() -> list[Problem]:
    """What `credential_problems` finds in this process's environment and this stack's config."""
    return credential_problems(os.environ, pulumi.runtime.get_config, pulumi.runtime.is_config_secret)
