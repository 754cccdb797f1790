"""SCIM values as the door reads them: ids as written, booleans as the dialects send them."""

from __future__ import annotations

import re
from typing import Any

# An id as we write it: str(pk), ASCII digits without sign or leading zero, within bigint.
_ID = re.compile(r"[1-9][0-9]{0,18}")


def resource_pk(value: Any) -> int | None:
    """The primary key an id names, or None. Ids are strings compared exactly (RFC 7643
    §3.1): '+5', '05', ' 5' or '٥', all 5 to int(), name no resource."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _ID.fullmatch(value):
        return None
    pk = int(value)
    return pk if pk < 2**63 else None


def boolean_or_none(value: Any) -> bool | None:
    """A boolean as the dialects send it: true, or "True"/"false" strings (OneLogin, Entra)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return None
