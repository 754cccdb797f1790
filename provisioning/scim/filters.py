"""SCIM filters and paths (RFC 7644 §3.4.2.2, §3.5.2): parse to a small AST, translate to Q.

Why our own parser rather than scim2-filter-parser's: its lexer reads only one-digit numbers
(`12` fails), only lower-case `true`/`false`/`null` (Entra sends `True`), no escaped quotes, and
its grammar gives `and` the same precedence as `or`, so `a or b and c` parses as
`(a or b) and c` — against the RFC. A recursive-descent parser of the RFC's ABNF is ~150 lines;
it also caps nesting depth, so a filter nested 500 deep is a 400, never a RecursionError.
The translation builds Django `Q` objects through the resource's attribute map — never SQL text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.fields.tuple_lookups import TupleIn

from provisioning.scim.errors import ScimError, invalid_filter, invalid_path

MAX_FILTER_LENGTH = 4096
MAX_DEPTH = 32
MAX_COMPARISONS = 64
OPERATORS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"})
KEYWORDS = OPERATORS | {"pr", "and", "or", "not", "true", "false", "null"}


@dataclass(frozen=True)
class AttrRef:
    urn: str | None
    name: str
    sub: str | None = None

    def __str__(self) -> str:
        text = f"{self.urn}:{self.name}" if self.urn else self.name
        return f"{text}.{self.sub}" if self.sub else text


@dataclass(frozen=True)
class Compare:
    attr: AttrRef
    op: str
    value: Any


@dataclass(frozen=True)
class Present:
    attr: AttrRef


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    expr: Node


@dataclass(frozen=True)
class ValuePath:
    """`emails[type eq "work"]`: the inner filter runs on each value of a multi-valued attr."""

    attr: AttrRef
    filter: Node


Node = Compare | Present | And | Or | Not | ValuePath


@dataclass(frozen=True)
class Path:
    """A PATCH path: `attr`, `urn:…:attr.sub`, `attr[filter]`, `attr[filter].sub`."""

    attr: AttrRef
    filter: Node | None = None


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lparen>\() | (?P<rparen>\)) | (?P<lbracket>\[) | (?P<rbracket>\]) |
        (?P<string>"(?:[^"\\]|\\.)*") |
        (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.:])) |
        (?P<subattr>\.[A-Za-z$][\w$-]*) |
        (?P<word>[A-Za-z$][\w$:.-]*)
    )""",
    re.VERBOSE,
)


@dataclass
class _Token:
    kind: str
    text: str
    value: Any = None


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            snippet = text[position : position + 20].strip()
            raise invalid_filter(f"Unexpected text at position {position + 1}: '{snippet}'.")
        kind = match.lastgroup or ""
        raw = match.group(kind)
        position = match.end()
        if kind == "string":
            try:
                # orjson: a lone surrogate ("\\ud800") is refused, it has no UTF-8 to compare.
                string = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise invalid_filter(f"The string {raw[:40]} is not valid JSON.") from None
            if "\x00" in string:
                raise invalid_filter("A filter string cannot hold a NUL character (\\u0000).")
            tokens.append(_Token("value", raw, string))
        elif kind == "number":
            try:
                tokens.append(_Token("value", raw, json.loads(raw)))
            except ValueError:  # e.g. a leading zero: JSON numbers have none
                raise invalid_filter(f"The number {raw[:40]} is not valid JSON.") from None
        elif kind == "word" and raw.lower() in KEYWORDS:
            lowered = raw.lower()
            if lowered in {"true", "false", "null"}:
                tokens.append(_Token("value", raw, {"true": True, "false": False}.get(lowered)))
            else:
                tokens.append(_Token(lowered, raw))
        else:
            tokens.append(_Token(kind, raw))
    return tokens


def _attr_ref(text: str) -> AttrRef:
    urn = None
    if ":" in text:
        urn, _, text = text.rpartition(":")
        if not urn.lower().startswith("urn:"):
            raise invalid_filter(f"'{urn[:60]}' is not a schema URN.")
    name, _, sub = text.partition(".")
    if not name or "." in sub or (sub == "" and text.endswith(".")):
        raise invalid_filter(f"'{text[:60]}' is not an attribute path.")
    return AttrRef(urn, name, sub or None)


class _Parser:
    def __init__(self, text: str) -> None:
        if len(text) > MAX_FILTER_LENGTH:
            raise invalid_filter(f"The filter is longer than {MAX_FILTER_LENGTH} characters.")
        self.tokens = _tokenize(text)
        self.position = 0
        self.depth = 0
        self.comparisons = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, kind: str | None = None) -> _Token:
        token = self.peek()
        if token is None:
            raise invalid_filter("The filter ends too early.")
        if kind is not None and token.kind != kind:
            expected = {"rparen": "')'", "rbracket": "']'", "word": "an attribute name"}.get(
                kind, kind
            )
            raise invalid_filter(f"Expected {expected} but found '{token.text[:40]}'.")
        self.position += 1
        return token

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise invalid_filter(f"The filter is nested deeper than {MAX_DEPTH} levels.")

    def parse(self) -> Node:
        if not self.tokens:
            raise invalid_filter("The filter is empty.")
        node = self.or_expr()
        if self.peek() is not None:
            raise invalid_filter(f"Unexpected '{self.peek().text[:40]}' in the filter.")  # type: ignore[union-attr]
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while (token := self.peek()) is not None and token.kind == "or":
            self.take()
            node = Or(node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.unary()
        while (token := self.peek()) is not None and token.kind == "and":
            self.take()
            node = And(node, self.unary())
        return node

    def unary(self) -> Node:
        token = self.peek()
        if token is None:
            raise invalid_filter("The filter ends too early.")
        if token.kind == "not":
            self.take()
            self.nest()
            node: Node = Not(self.unary())
            self.depth -= 1
            return node
        if token.kind == "lparen":
            self.take()
            self.nest()
            node = self.or_expr()
            self.take("rparen")
            self.depth -= 1
            return node
        return self.attribute_expression()

    def attribute_expression(self) -> Node:
        token = self.take()
        if token.kind != "word":
            raise invalid_filter(f"Expected an attribute name but found '{token.text[:40]}'.")
        attr = _attr_ref(token.text)
        following = self.peek()
        if following is not None and following.kind == "lbracket":
            if attr.sub:
                raise invalid_filter(f"'{attr}' cannot take a [filter].")
            self.take()
            self.nest()
            inner = self.or_expr()
            self.take("rbracket")
            self.depth -= 1
            after = self.peek()
            if after is not None and after.kind == "subattr":
                # Entra: emails[type eq "work"].value eq "x" — the inner filter AND the value.
                self.take()
                sub_ref = AttrRef(None, after.text[1:])
                return ValuePath(attr, And(inner, self.comparison(sub_ref)))
            return ValuePath(attr, inner)
        return self.comparison(attr)

    def comparison(self, attr: AttrRef) -> Node:
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise invalid_filter(f"The filter has more than {MAX_COMPARISONS} comparisons.")
        operator = self.take()
        if operator.kind == "pr":
            return Present(attr)
        if operator.kind not in OPERATORS:
            raise invalid_filter(
                f"'{operator.text[:40]}' is not a filter operator. Use one of: eq, ne, co, sw, "
                "ew, gt, ge, lt, le, pr."
            )
        value = self.take()
        if value.kind != "value":
            raise invalid_filter(
                f"Expected a value (a quoted string, number, true, false or null) after "
                f"'{operator.text}' but found '{value.text[:40]}'."
            )
        return Compare(attr, operator.kind, value.value)


def parse_filter(text: str) -> Node:
    return _Parser(text).parse()


def parse_path(text: str) -> Path:
    """A PATCH path. Errors are invalidPath, as RFC 7644 §3.5.2 asks."""
    try:
        parser = _Parser(text)
        token = parser.take()
        if token.kind != "word":
            raise invalid_path(f"'{text[:60]}' is not an attribute path.")
        attr = _attr_ref(token.text)
        node: Node | None = None
        if (following := parser.peek()) is not None and following.kind == "lbracket":
            parser.take()
            node = parser.or_expr()
            parser.take("rbracket")
            if (after := parser.peek()) is not None and after.kind == "subattr":
                parser.take()
                if attr.sub:
                    raise invalid_path(f"'{text[:60]}' is not an attribute path.")
                attr = AttrRef(attr.urn, attr.name, after.text[1:])
        if parser.peek() is not None:
            raise invalid_path(f"'{text[:60]}' is not an attribute path.")
    except ScimError as error:
        if error.scim_type == "invalidPath":
            raise
        raise invalid_path(f"The path '{text[:60]}' is not valid: {error.detail}") from None
    return Path(attr, node)


# --- translation to Q ---

Q_TRUE = Q(pk__isnull=False)
Q_FALSE = Q(pk__in=[])

Builder = Callable[[str, Any], Q]


@dataclass(frozen=True)
class MultiValued:
    """A multi-valued attribute: each element maps its sub-attributes to builders."""

    elements: tuple[dict[str, Builder], ...]


@dataclass(frozen=True)
class Rows:
    """A table with one row per value of a multi-valued attribute: `owner` names the resource a
    row belongs to, and each row has the resource's `company`."""

    rows: QuerySet[Any]
    owner: str
    element: dict[str, Builder]


@dataclass(frozen=True)
class Related:
    """A multi-valued attribute kept in tables of its own, a resource's values all in one of
    them: a filter matches the resource when one row matches (RFC 7644 §3.4.2.2), and a value
    path's conditions hold on that same row.

    Asked as `(company, pk) IN (SELECT company, owner … UNION ALL SELECT …)`, not as EXISTS per
    table: PostgreSQL turns the IN into a join, takes the company from the outer query into
    each table's (company, value) index, and reads the matched resources by key — where an OR
    of correlated EXISTS would test every user of the company."""

    sources: tuple[Rows, ...]

    def any(self, condition: Callable[[dict[str, Builder]], Q]) -> Q:
        if not connection.features.supports_tuple_lookups:  # type: ignore[attr-defined]
            # SQLite (the quickstart) has no row values, and Django's stand-in for them filters
            # the union, which a compound query ignores: there, one EXISTS per table.
            result = Q_FALSE
            for source in self.sources:
                rows = source.rows.filter(
                    company=OuterRef("company"), **{source.owner: OuterRef("pk")}
                )
                result |= Q(Exists(rows.filter(condition(source.element))))
            return result
        owners = [
            source.rows.filter(condition(source.element))
            .order_by()
            .values_list("company", source.owner)
            for source in self.sources
        ]
        matched = owners[0].union(*owners[1:], all=True)
        # Django's own row-value IN (composite keys, 5.2); there is no public spelling of it.
        return Q(TupleIn((F("company"), F("pk")), matched.query))


Target = Builder | MultiValued | Related
AttributeMap = dict[str, Target]
Resolver = Callable[[AttrRef], "Target | None"]


def to_q(node: Node, resolve: Resolver) -> Q:
    if isinstance(node, And):
        return to_q(node.left, resolve) & to_q(node.right, resolve)
    if isinstance(node, Or):
        return to_q(node.left, resolve) | to_q(node.right, resolve)
    if isinstance(node, Not):
        return ~to_q(node.expr, resolve)
    if isinstance(node, ValuePath):
        target = resolve(AttrRef(node.attr.urn, node.attr.name))
        if not isinstance(target, MultiValued | Related):
            raise invalid_filter(f"'{node.attr}' is not a multi-valued attribute.")
        return _any_value(
            target, lambda element: to_q(node.filter, _element_resolver(element, node.attr))
        )
    attr = node.attr
    op, value = ("pr", None) if isinstance(node, Present) else (node.op, node.value)
    target = resolve(attr)
    if isinstance(target, MultiValued | Related):
        # `emails eq "x"` / `emails.value co "x"`: any value matches (RFC 7644 §3.4.2.2).
        sub = (attr.sub or "value").lower()

        def compare(element: dict[str, Builder]) -> Q:
            builder = element.get(sub)
            if builder is None:
                raise invalid_filter(f"Unknown attribute '{attr}' in the filter.")
            return builder(op, value)

        return _any_value(target, compare)
    if target is None:
        raise invalid_filter(f"Unknown attribute '{attr}' in the filter.")
    return target(op, value)


def _any_value(target: MultiValued | Related, condition: Callable[[dict[str, Builder]], Q]) -> Q:
    """Some value of the attribute meets `condition`, built with an element's builders."""
    if isinstance(target, Related):
        return target.any(condition)
    result = Q_FALSE
    for element in target.elements:
        result |= condition(element)
    return result


def _element_resolver(element: dict[str, Builder], parent: AttrRef) -> Resolver:
    def resolve(attr: AttrRef) -> Builder | None:
        if attr.urn or attr.sub:
            raise invalid_filter(f"Inside {parent.name}[…] use its sub-attributes only.")
        builder = element.get(attr.name.lower())
        if builder is None:
            raise invalid_filter(f"Unknown attribute '{parent.name}.{attr.name}' in the filter.")
        return builder

    return resolve
