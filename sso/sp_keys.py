"""The deployment's SAML signing key: one RSA key and certificate for every company's SP.

They live as files in SAML_SP_KEY_DIR: `signing.key` + `signing.crt` sign our AuthnRequests and
LogoutRequests (for companies that turn on "Sign requests"), and during a rollover `next.key` +
`next.crt` are published in the SP metadata beside the signing certificate, so IdPs can learn the
next certificate before it signs anything. `manage.py sp_keys` generates, rolls over and shows
them. The private key is written with mode 0600 and never printed, logged or audited.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings

from sso.certificates import certificate_info

SIGNING = "signing"
NEXT = "next"
CERTIFICATE_YEARS = 10


@dataclass(frozen=True)
class KeyPair:
    key_file: Path
    cert_file: Path

    def exists(self) -> bool:
        return self.key_file.is_file() and self.cert_file.is_file()


def key_dir() -> Path:
    return Path(str(settings.SAML_SP_KEY_DIR))


def pair(role: str) -> KeyPair:
    directory = key_dir()
    return KeyPair(directory / f"{role}.key", directory / f"{role}.crt")


def signing_pair() -> KeyPair | None:
    """The pair that signs, or None when the deployment has no SP key yet."""
    current = pair(SIGNING)
    return current if current.exists() else None


def published_certificates() -> list[Path]:
    """Certificate files the SP metadata publishes: the signing one, then the next one."""
    return [p.cert_file for p in (pair(SIGNING), pair(NEXT)) if p.exists()]


def write_pair(role: str, common_name: str) -> KeyPair:
    """A new RSA-3072 key and a self-signed certificate valid CERTIFICATE_YEARS, as `role`."""
    target = pair(role)
    target.key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * CERTIFICATE_YEARS))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(target.key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key_pem)
    target.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return target


def promote_next() -> KeyPair:
    """End a rollover: the next pair becomes the signing pair (the old one is removed)."""
    current, following = pair(SIGNING), pair(NEXT)
    following.key_file.replace(current.key_file)
    following.cert_file.replace(current.cert_file)
    return current


def describe(cert_file: Path) -> str:
    info = certificate_info(cert_file.read_text())
    return (
        f"{info.subject} · SHA-256 {info.fingerprint_sha256} · "
        f"valid until {info.not_after:%Y-%m-%d}"
    )
