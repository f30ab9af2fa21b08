"""What Kubernetes accepts as a name, a label or a taint: apimachinery's rules, as plain functions.

The rules of k8s.io/apimachinery/pkg/util/validation (IsDNS1123Label as a pattern, IsDNS1123Subdomain,
IsQualifiedName, IsValidLabelValue) and of the core API's taint validation (key: a qualified
name; value: a label value). Each function returns why a string is refused, or nothing; the
spec's checks turn that into a problem at the config key. Pure: no I/O, no imports of our own.
"""

from __future__ import annotations

import re

DNS1123_SUBDOMAIN_MAX = 253
QUALIFIED_NAME_MAX = 63  # the name part of a label key, taint key or annotation key
LABEL_VALUE_MAX = 63

DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN = rf"{DNS1123_LABEL}(\.{DNS1123_LABEL})*"
_QUALIFIED_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"

_LABEL_RULE = "lowercase letters, digits and '-', starting and ending with a letter or digit"
_NAME_RULE = "letters, digits, '-', '_' or '.', starting and ending with a letter or digit"


def dns1123_subdomain(name: str) -> list[str]:
    """Why `name` is not a DNS-1123 subdomain (label-key prefixes, many object names), or []."""
    found = [] if re.fullmatch(DNS1123_SUBDOMAIN, name) else [f"a DNS-1123 subdomain is dot-separated labels of {_LABEL_RULE}"]
    if len(name) > DNS1123_SUBDOMAIN_MAX:
        found.append(f"must be no more than {DNS1123_SUBDOMAIN_MAX} characters")
    return found


def qualified_name(key: str) -> list[str]:
    """Why `key` is not a qualified name (`[prefix/]name`: label keys, taint keys), or []."""
    parts = key.split("/")
    if len(parts) > 2:
        return ["a qualified name is a name with an optional DNS subdomain prefix and one '/', like example.com/MyName"]
    found = []
    if len(parts) == 2:
        prefix = parts[0]
        found += ["prefix part must be non-empty"] if not prefix else [f"prefix part: {why}" for why in dns1123_subdomain(prefix)]
    name = parts[-1]
    if not name:
        found.append("name part must be non-empty")
    elif not re.fullmatch(_QUALIFIED_NAME, name):
        found.append(f"name part has only {_NAME_RULE}")
    if len(name) > QUALIFIED_NAME_MAX:
        found.append(f"name part must be no more than {QUALIFIED_NAME_MAX} characters")
    return found


def label_value(value: str) -> list[str]:
    """Why `value` is not a label value (also a taint's value), or []. Empty is valid."""
    found = [] if value == "" or re.fullmatch(_QUALIFIED_NAME, value) else [f"a label value is empty or has only {_NAME_RULE}"]
    if len(value) > LABEL_VALUE_MAX:
        found.append(f"must be no more than {LABEL_VALUE_MAX} characters")
    return found
