"""``ingest merge``: fold another warehouse's raw rows (e.g. a shard run elsewhere) into this
one. Keys decide identity, so merging twice adds nothing."""

from __future__ import annotations

from pathlib import Path

from .errors import CensusError
from .warehouse import RAW_TABLES, connect, init_schema

KEYS = {
    "runs": ["run_id"],
    "images": ["image_id"],
    "image_runs": ["run_id", "image_id"],
    "faces": ["run_id", "image_id", "face_idx"],
    "nsfw": ["run_id", "image_id"],
    "predictions": ["run_id", "image_id", "rank"],
}


def merge_warehouse(other: Path, db: Path | None = None) -> dict[str, int]:
    if not other.is_file():
        raise CensusError(f"No warehouse file at {other}.")
    con = connect(db)
    try:
        init_schema(con)
        con.execute(f"attach '{other.resolve()}' as other_wh (read_only)")
        added: dict[str, int] = {}
        con.execute("begin transaction")
        try:
            for table in RAW_TABLES:
                cols = [r[0] for r in con.execute(
                    "select column_name from information_schema.columns where table_catalog = "
                    "'other_wh' and table_schema = 'raw' and table_name = ? order by ordinal_position",
                    [table]).fetchall()]
                if not cols:
                    raise CensusError(f"{other} has no raw.{table} table; is it a census warehouse?")
                before = con.execute(f"select count(*) from raw.{table}").fetchone()[0]
                names = ", ".join(cols)
                con.execute(f"insert into raw.{table} ({names}) select {names} "
                            f"from other_wh.raw.{table} on conflict do nothing")
                added[table] = con.execute(f"select count(*) from raw.{table}").fetchone()[0] - before
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        con.execute("detach other_wh")
        return added
    finally:
        con.close()
