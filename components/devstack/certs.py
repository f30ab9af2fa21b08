"""Certificates for a local control plane: a CA, a serving cert, client certs, SA keys.

Made with the `openssl` command, which every Linux and macOS machine has, so
the library needs no crypto dependency for a test-only concern.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

# Client identities: RBAC's bootstrap roles already grant these users what they need.
CLIENTS = {
    "admin": "/O=system:masters/CN=aion-admin",
    "controller-manager": "/CN=system:kube-controller-manager",
    "scheduler": "/CN=system:kube-scheduler",
}
SERVING_NAMES = "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,IP:127.0.0.1,IP:10.0.0.1"


@dataclass(frozen=True)
class Pki:
    root: Path

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca.key"

    @property
    def serving_cert(self) -> Path:
        return self.root / "apiserver.crt"

    @property
    def serving_key(self) -> Path:
        return self.root / "apiserver.key"

    @property
    def sa_key(self) -> Path:
        return self.root / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.root / "sa.pub"

    def client_cert(self, client: str) -> Path:
        return self.root / f"{client}.crt"

    def client_key(self, client: str) -> Path:
        return self.root / f"{client}.key"


def ensure_pki(root: Path) -> Pki:
    """Make the certificates once; later runs reuse them, so kubeconfigs stay valid."""
    pki = Pki(root)
    if pki.sa_pub.exists():
        return pki
    root.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", "/CN=aion-local-ca",
             "-keyout", pki.ca_key, "-out", pki.ca_cert)  # fmt: skip
    _signed(pki, "apiserver", "/CN=kube-apiserver", f"subjectAltName={SERVING_NAMES}")
    for client, subject in CLIENTS.items():
        _signed(pki, client, subject, "extendedKeyUsage=clientAuth")
    _openssl("genrsa", "-out", pki.sa_key, "2048")
    _openssl("rsa", "-in", pki.sa_key, "-pubout", "-out", pki.sa_pub)
    return pki


def _signed(pki: Pki, name: str, subject: str, extension: str) -> None:
    key, csr, cert, ext = (pki.root / f"{name}.{suffix}" for suffix in ("key", "csr", "crt", "ext"))
    ext.write_text(extension + "\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", key, "-out", csr)
    _openssl("x509", "-req", "-in", csr, "-CA", pki.ca_cert, "-CAkey", pki.ca_key, "-CAcreateserial",
             "-days", "3650", "-extfile", ext, "-out", cert)  # fmt: skip
    csr.unlink()
    ext.unlink()


def _openssl(*args: object) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)
