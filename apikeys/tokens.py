"""What an API key looks like, and the one way it is hashed.

A key reads `sbk_<prefix>_<secret>`, 60 characters:

- `sbk_` is fixed so secret scanners (GitHub, GitLab, trufflehog …) can spot a leaked key with
  `sbk_[a-z0-9]{12}_[A-Za-z0-9]{43}`.
- the prefix (`sbk_` + 12 lowercase letters and digits) is not secret: it is stored, shown in
  lists, and finds the key's row with one indexed lookup.
- the secret is 43 base62 characters from `secrets`: 62**43 > 2**256. Base62 has no `-` or `_`,
  so a double-click selects the whole key.

Only the SHA-256 of the whole key is stored. A slow password hash (PBKDF2, Argon2) exists to make
guessing low-entropy passwords expensive; guessing 256 random bits is hopeless already, and a
fast hash keeps authentication — which runs on every SCIM request — in microseconds. It is not
keyed with SECRET_KEY on purpose: rotating SECRET_KEY must not invalidate every API key.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string

KEY_MARKER = "sbk_"
PREFIX_ALPHABET = string.ascii_lowercase + string.digits
SECRET_ALPHABET = string.ascii_letters + string.digits
PREFIX_RANDOM_LENGTH = 12
SECRET_LENGTH = 43  # 43 × log2(62) ≈ 256.03 bits
KEY_LENGTH = len(KEY_MARKER) + PREFIX_RANDOM_LENGTH + 1 + SECRET_LENGTH

_KEY = re.compile(
    rf"(sbk_[a-z0-9]{{{PREFIX_RANDOM_LENGTH}}})_([A-Za-z0-9]{{{SECRET_LENGTH}}})", re.ASCII
)


def new_prefix() -> str:
    return KEY_MARKER + "".join(
        secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_RANDOM_LENGTH)
    )


def new_key(prefix: str) -> str:
    secret = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))
    return f"{prefix}_{secret}"


def split_key(raw_key: object) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key; None for anything else, of any type or length."""
    if not isinstance(raw_key, str) or len(raw_key) != KEY_LENGTH:
        return None
    match = _KEY.fullmatch(raw_key)
    return (match.group(1), match.group(2)) if match else None


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8", "surrogatepass")).hexdigest()
