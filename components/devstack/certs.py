"""Certificates for a local control plane: a CA, serving certs, client certs, SA keys.

Made with the `cryptography` library, in this process: no tool to find, and an error is a Python
exception with its reason. Private keys are written 0600 and certificates 0644 by this code itself
(created with that mode, never widened after), whatever the umask.

etcd serves TLS and asks every client for a certificate of this CA, as a real control plane's
does (kubeadm's layout): kube-apiserver is its only client.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Client identities: RBAC's bootstrap roles already grant these users what they need.
# (organization, common name); "apiserver-etcd-client" is kube-apiserver's identity towards etcd.
CLIENTS = {
    "admin": ("system:masters", "aion-admin"),
    "controller-manager": (None, "system:kube-controller-manager"),
    "scheduler": (None, "system:kube-scheduler"),
    "apiserver-etcd-client": (None, "kube-apiserver-etcd-client"),
}
SERVING_DNS = ("localhost", "kubernetes", "kubernetes.default")
SERVING_IPS = ("127.0.0.1", "10.0.0.1")
KEY_MODE, CERT_MODE = 0o600, 0o644
VALID_DAYS = 3650
KEY_BITS = 2048


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
    def etcd_cert(self) -> Path:
        return self.root / "etcd-server.crt"

    @property
    def etcd_key(self) -> Path:
        return self.root / "etcd-server.key"

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

    def files(self) -> list[Path]:
        """Every file of a complete PKI, the last written last."""
        clients = [path for client in CLIENTS for path in (self.client_key(client), self.client_cert(client))]
        servers = [self.serving_key, self.serving_cert, self.etcd_key, self.etcd_cert]
        return [self.ca_key, self.ca_cert, *servers, *clients, self.sa_key, self.sa_pub]


def ensure_pki(root: Path) -> Pki:
    """Make what is missing, once; later runs reuse every file, so kubeconfigs and etcd's data stay valid.
    A PKI made before etcd served TLS gains the etcd certificates, signed by the same CA."""
    pki = Pki(root)
    if all(path.exists() for path in pki.files()):
        return pki
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    if not (pki.ca_key.exists() and pki.ca_cert.exists()):
        ca_key = _new_key(pki.ca_key)
        name = _name(None, "aion-local-ca")
        ca = _builder(name, name, ca_key.public_key()).add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        ca = ca.add_extension(x509.KeyUsage(*_usage(cert_sign=True)), critical=True)
        _write(pki.ca_cert, ca.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM), CERT_MODE)
    ca_key, ca_cert = _load(pki)
    sans = [*(x509.DNSName(n) for n in SERVING_DNS), *(x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVING_IPS)]
    if not pki.serving_cert.exists():
        _signed(ca_key, ca_cert, pki.serving_key, pki.serving_cert, _name(None, "kube-apiserver"), [ExtendedKeyUsageOID.SERVER_AUTH], sans)
    if not pki.etcd_cert.exists():
        # etcd serves its clients and its peers with it, and is a client of its peers with it too.
        both = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        _signed(ca_key, ca_cert, pki.etcd_key, pki.etcd_cert, _name(None, "etcd-server"), both, sans)
    for client, (organization, common_name) in CLIENTS.items():
        if not pki.client_cert(client).exists():
            subject = _name(organization, common_name)
            _signed(ca_key, ca_cert, pki.client_key(client), pki.client_cert(client), subject, [ExtendedKeyUsageOID.CLIENT_AUTH], [])
    if not pki.sa_pub.exists():
        sa_key = _new_key(pki.sa_key)
        public = sa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        _write(pki.sa_pub, public, CERT_MODE)
    return pki


def _name(organization: str | None, common_name: str) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)] if organization else []
    return x509.Name([*parts, x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _usage(cert_sign: bool = False) -> tuple[bool, ...]:
    """KeyUsage's nine flags: a CA signs certificates, a leaf signs and enciphers keys."""
    # digital_signature, content_commitment, key_encipherment, data_encipherment, key_agreement,
    # key_cert_sign, crl_sign, encipher_only, decipher_only
    return (True, False, not cert_sign, False, False, cert_sign, cert_sign, False, False)


def _builder(subject: x509.Name, issuer: x509.Name, public_key: rsa.RSAPublicKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))  # a clock a little behind still accepts it
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
    )


def _signed(
    ca_key: rsa.RSAPrivateKey,
    ca_cert: x509.Certificate,
    key_path: Path,
    cert_path: Path,
    subject: x509.Name,
    usages: list[x509.ObjectIdentifier],
    sans: list[x509.GeneralName],
) -> None:
    key = _new_key(key_path)
    builder = _builder(subject, ca_cert.subject, key.public_key())
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    builder = builder.add_extension(x509.KeyUsage(*_usage()), critical=True)
    builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    _write(cert_path, builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM), CERT_MODE)


def _new_key(path: Path) -> rsa.RSAPrivateKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _write(path, pem, KEY_MODE)
    return key


def _load(pki: Pki) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = serialization.load_pem_private_key(pki.ca_key.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{pki.ca_key} is not an RSA key")
    return key, x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())


def write_private(path: Path, content: bytes) -> None:
    """A copy of a private key elsewhere (Kueue's certificate folder): 0600 like the original."""
    _write(path, content, KEY_MODE)


def _write(path: Path, content: bytes, mode: int) -> None:
    """Created with `mode` (no moment with a wider one), then exactly `mode` whatever the umask."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as out:
        out.write(content)
    os.chmod(path, mode)
