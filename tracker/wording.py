"""Counts in words: "1 row", "2 rows" (summaries printed to people)."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun, singular for exactly one: counted(1, "row") == "1 row";
    `plural` for nouns that do not take an s (counted(2, "country", "countries"))."""
    return f"{n} {word_for(n, noun, plural)}"


def word_for(n: int, word: str, plural: str | None = None) -> str:
    """The word alone, singular for exactly one (a list named after it: "column a",
    "columns a, b"); `plural` for words that do not take an s, and for verbs
    (word_for(n, "is", "are"))."""
    return word if n == 1 else (plural or word + "s")


def article(name: str) -> str:
    """"a" or "an" before a dataset's name spelt out letter by letter or read as a word
    (an ACLED export, a UCDP GED export)."""
    return "an" if name[:1].upper() in "AEIO" else "a"
