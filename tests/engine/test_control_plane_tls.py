"""The local control plane's etcd, as a real one: TLS only, and only for a client with a certificate of its CA."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from aion_factory.devstack.certs import Pki, ensure_pki
from aion_factory.devstack.controlplane import ETCD_CLIENT


def etcd_health(control_plane: Any, scheme: str, context: ssl.SSLContext | None) -> int:
    url = f"{scheme}://127.0.0.1:{control_plane.state()['ports']['etcd']}/health"
    with urllib.request.urlopen(url, timeout=10, context=context) as response:
        return int(response.status)


def test_etcd_answers_its_client_certificate_only(control_plane: Any) -> None:
    pki = Pki(control_plane.root / "pki")
    trusted = ssl.create_default_context(cafile=str(pki.ca_cert))
    with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
        etcd_health(control_plane, "https", trusted)  # TLS, but no client certificate: refused in the handshake
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        etcd_health(control_plane, "http", None)  # plain HTTP: nothing answers it
    # A certificate of another CA is refused too.
    other = Pki(control_plane.root / "other-pki")
    ensure_pki(other.root)
    stranger = ssl.create_default_context(cafile=str(pki.ca_cert))
    stranger.load_cert_chain(other.client_cert(ETCD_CLIENT), other.client_key(ETCD_CLIENT))
    with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
        etcd_health(control_plane, "https", stranger)
    trusted.load_cert_chain(pki.client_cert(ETCD_CLIENT), pki.client_key(ETCD_CLIENT))
    assert etcd_health(control_plane, "https", trusted) == 200


def test_kube_apiserver_reaches_etcd_over_tls(control_plane: Any, api_client: Any) -> None:
    from kubernetes import client

    assert client.CoreV1Api(api_client).read_namespace("default").metadata.name == "default"
    pid = control_plane.state()["pids"]["kube-apiserver"]
    flags = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    pki = Pki(control_plane.root / "pki")
    assert f"--etcd-servers=https://127.0.0.1:{control_plane.state()['ports']['etcd']}" in flags
    assert f"--etcd-certfile={pki.client_cert(ETCD_CLIENT)}" in flags
