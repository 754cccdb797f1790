"""The API reads JSON bodies as strictly as the SCIM door, with the same reader
(core/strict_json.py): RFC 8259 only, nesting capped, no NUL, at most 1 MB. DRF's own
JSONParser recursed into a deeply nested body until Python gave up (a 500)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import exceptions
from rest_framework.parsers import BaseParser

from api.errors import APIError
from core import strict_json

MAX_BODY = 1024 * 1024


class StrictJSONParser(BaseParser):
    media_type = "application/json"

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        raw = stream.read(MAX_BODY + 1) if stream is not None else b""
        if len(raw) > MAX_BODY:
            raise APIError(413, "The request body is larger than 1 MB.", code="too_large")
        try:
            return strict_json.loads(raw)
        except strict_json.InvalidJSON as error:
            if error.kind == "syntax":
                raise exceptions.ParseError(error.message) from None
            raise APIError(400, error.message, code="invalid") from None
