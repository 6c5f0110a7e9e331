"""Names and strings quoted into SQL text, for the statements that cannot take parameters
(DDL, COPY targets, ATTACH paths, relations built as text)."""

from __future__ import annotations


def quote_identifier(*parts: str) -> str:
    """A SQL identifier, each dotted part double-quoted: ("main", 'a"b') -> "main"."a""b"."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


def quote_literal(text: str) -> str:
    """A SQL string literal: quotes doubled (DuckDB and SQLite strings have no backslash escapes)."""
    return "'" + text.replace("'", "''") + "'"
