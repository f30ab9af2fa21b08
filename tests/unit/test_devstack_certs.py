"""The local control plane's certificates: made in-process, keys 0600 whatever the umask, reused on restart."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from aion_factory.devstack.certs import CLIENTS, Pki, ensure_pki


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """umask 0: a file written without an explicit mode would be world-readable."""
    old = os.umask(0)
    yield
    os.umask(old)


def cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_keys_are_0600_and_certificates_0644_whatever_the_umask(tmp_path: Path, permissive_umask: None) -> None:
    pki = ensure_pki(tmp_path / "pki")
    keys = [p for p in pki.files() if p.suffix == ".key"]
    assert len(keys) == 4 + len(CLIENTS)  # the CA, kube-apiserver, etcd, the service-account signer, each client
    assert {p.name: mode(p) for p in keys} == {p.name: 0o600 for p in keys}
    assert {p.name: mode(p) for p in pki.files() if p not in keys} == {p.name: 0o644 for p in pki.files() if p not in keys}
    assert mode(pki.root) == 0o700


def test_every_certificate_is_signed_by_the_ca_for_its_use(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "pki")
    ca = cert(pki.ca_cert)
    for path in (pki.serving_cert, pki.etcd_cert, *(pki.client_cert(c) for c in CLIENTS)):
        leaf = cert(path)
        leaf.verify_directly_issued_by(ca)
    usages = {p: set(cert(p).extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) for p in (pki.serving_cert, pki.etcd_cert)}
    assert usages[pki.serving_cert] == {ExtendedKeyUsageOID.SERVER_AUTH}
    assert usages[pki.etcd_cert] == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}  # etcd is its peers' client
    names = cert(pki.etcd_cert).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    admin = cert(pki.client_cert("admin")).subject
    assert admin.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"


def test_a_restart_reuses_every_file_and_an_older_pki_gains_only_what_it_lacks(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "pki")
    before = {p: p.read_bytes() for p in pki.files()}
    assert {p: p.read_bytes() for p in ensure_pki(tmp_path / "pki").files()} == before
    # A PKI from before etcd served TLS: no etcd certificates yet. They come, from the same CA.
    for path in (pki.etcd_cert, pki.etcd_key, pki.client_cert("apiserver-etcd-client"), pki.client_key("apiserver-etcd-client")):
        path.unlink()
    again = ensure_pki(tmp_path / "pki")
    assert again.ca_cert.read_bytes() == before[pki.ca_cert]
    cert(again.etcd_cert).verify_directly_issued_by(cert(again.ca_cert))
    assert again.serving_key.read_bytes() == before[pki.serving_key]


def test_pki_paths_are_under_its_root(tmp_path: Path) -> None:
    assert {p.parent for p in Pki(tmp_path).files()} == {tmp_path}
