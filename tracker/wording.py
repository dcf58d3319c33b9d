"""Counts in words: "1 row", "2 rows" (summaries printed to people)."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun, singular for exactly one: counted(1, "row") == "1 row";
    `plural` for nouns that do not take an s (counted(2, "country", "countries"))."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def article(name: str) -> str:
    """"a" or "an" before a dataset's name spelt out letter by letter or read as a word
    (an ACLED export, a UCDP GED export)."""
    return "an" if name[:1].upper() in "AEIO" else "a"
