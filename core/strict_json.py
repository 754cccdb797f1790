"""Request bodies as strict JSON: one reading for every door that takes JSON (SCIM, the REST API).

RFC 8259 and no more (orjson): no NaN or Infinity, no number past a double's range, no lone
surrogate (no UTF-8 for it). On top of it, what the rest of the request could not survive is
refused here, before any of it reaches a serializer, a service or a query:
- nesting deeper than `MAX_DEPTH` arrays and objects: Python's own recursion (repr, deepcopy,
  orjson.dumps of a queued change) fails around a thousand levels, a 500 if it got that far, and
  no SCIM or API body nests past a handful;
- a NUL character (\\u0000) in a key or a string, which no PostgreSQL text column can hold.

Each door turns `InvalidJSON` into its own error shape: `kind` is "syntax" (not JSON we read) or
"value" (JSON, but a value we cannot keep).
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

MAX_DEPTH = 32


class InvalidJSON(ValueError):
    def __init__(self, message: str, *, kind: Literal["syntax", "value"]) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


def loads(raw: bytes | str) -> Any:
    """The body as Python values, or `InvalidJSON` saying what is wrong with it."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        reason = str(error).split(":", 1)[0]  # orjson's words, without its position
        raise InvalidJSON(
            f"The request body is not valid JSON ({reason[:100]}).", kind="syntax"
        ) from None
    _check_values(body)
    return body


def _check_values(body: Any) -> None:
    pending: list[tuple[Any, int]] = [(body, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise InvalidJSON(
                    f"The request body nests arrays and objects more than {MAX_DEPTH} deep.",
                    kind="syntax",
                )
            if isinstance(value, dict):
                pending.extend((key, depth + 1) for key in value)
                pending.extend((item, depth + 1) for item in value.values())
            else:
                pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and "\x00" in value:
            raise InvalidJSON(
                "The body holds a NUL character (\\u0000): send text without it.", kind="value"
            )
