"""``transaction()``: commit at the end of the block, roll back on any exception, Ctrl-C included."""

import sqlite3

import duckdb
import pytest

from ingest.warehouse.db import transaction


def _duckdb():
    con = duckdb.connect()
    con.execute("create table t (x integer)")
    return con


def _sqlite():
    con = sqlite3.connect(":memory:", isolation_level=None)
    con.execute("create table t (x integer)")
    return con


@pytest.fixture(params=[_duckdb, _sqlite], ids=["duckdb", "sqlite"])
def con(request):
    con = request.param()
    yield con
    con.close()


def _count(con) -> int:
    return con.execute("select count(*) from t").fetchone()[0]


def test_commits_at_the_end(con):
    with transaction(con):
        con.execute("insert into t values (1)")
    assert _count(con) == 1


@pytest.mark.parametrize("error", [KeyboardInterrupt, ValueError])
def test_rolls_back_on_any_exception(con, error):
    with pytest.raises(error), transaction(con):
        con.execute("insert into t values (1)")
        raise error
    assert _count(con) == 0
    with transaction(con):  # no transaction left open
        con.execute("insert into t values (2)")
    assert _count(con) == 1


def test_sqlite_begin_immediate():
    con = _sqlite()
    with pytest.raises(KeyboardInterrupt), transaction(con, "begin immediate"):
        con.execute("insert into t values (1)")
        raise KeyboardInterrupt
    assert not con.in_transaction
    assert _count(con) == 0
