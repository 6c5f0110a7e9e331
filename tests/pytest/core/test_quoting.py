"""One identifier quoter and one literal quoter: names and strings holding quotes survive."""

import duckdb
import pytest

from ingest.core.quoting import quote_identifier, quote_literal

AWKWARD = ['plain', 'say "hi"', "it's", "a.b", '"', "''", "x\"; drop table t; --"]


def test_identifier_parts_are_quoted_one_by_one():
    assert quote_identifier("main", 'a"b') == '"main"."a""b"'


def test_literal_doubles_single_quotes():
    assert quote_literal("it's") == "'it''s'"


@pytest.mark.parametrize("name", AWKWARD)
def test_names_and_strings_round_trip_in_duckdb(name):
    con = duckdb.connect()
    con.execute("create schema s")
    con.execute(f"create table {quote_identifier('s', name)} ({quote_identifier(name)} varchar)")
    con.execute(f"insert into {quote_identifier('s', name)} values ({quote_literal(name)})")
    assert con.execute(f"select {quote_identifier(name)} from {quote_identifier('s', name)}").fetchall() == [(name,)]
    assert con.execute("select table_name from information_schema.tables where table_schema = 's'").fetchall() == [
        (name,)]
