"""Counts as people write them: "1 user", "3 users" — never "user(s)"."""

from __future__ import annotations


def count(number: int, singular: str, plural: str | None = None) -> str:
    """`count(1, "user")` is "1 user"; `count(2, "user")` "2 users"; thousands get commas."""
    word = singular if number == 1 else (plural or f"{singular}s")
    return f"{number:,} {word}"
