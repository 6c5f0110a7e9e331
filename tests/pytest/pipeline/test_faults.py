"""Every file accounted for: odd files are processed, broken ones become error rows, the
run goes on, and images seen = ok + error. RELIABILITY.md must match the catalogue."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from faults import FAULTS
from runs import count, ingest

from ingest.cli import app

REPO = Path(__file__).resolve().parents[3]


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("faults")
    root = base / "ds"
    folder = root / "train" / "n01440764"
    folder.mkdir(parents=True)
    names = {}
    for fault in FAULTS:
        fault.make(folder / fault.file_name)
        names[fault.name] = f"train/n01440764/{fault.file_name}"
    db = base / "faults.duckdb"
    summary = ingest(root, db, stages=["faces", "nsfw"])
    yield root, db, summary, names
    (folder / "unreadable.JPEG").chmod(0o644)


def _outcome(db: Path, rel_path: str):
    rows = count(db, f"""
        select ir.status, coalesce(ir.error, '') from raw.image_runs ir join raw.images i using (image_id)
        where i.rel_path = '{rel_path.replace("'", "''")}' order by ir.status""")
    return rows


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault_outcome(fault_run, fault):
    root, db, _, names = fault_run
    if fault.name.startswith("unreadable") and _is_root():
        assert _outcome(db, names[fault.name])[0][0] == "ok"
        pytest.skip("root reads files whatever their mode")
    stored = names[fault.name].encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    rows = _outcome(db, stored)
    assert len(rows) == 2, f"{fault.name}: expected one row per stage, got {rows}"
    for status, error in rows:
        assert status == fault.outcome, f"{fault.name}: {status} {error}"
        assert fault.reason in error


def test_exif_orientation_is_applied(fault_run):
    _, db, _, names = fault_run
    rows = count(db, f"select width, height from raw.images where rel_path = '{names['EXIF-rotated photo']}'")
    assert rows == [(300, 500)]


def test_every_file_is_accounted_for(fault_run):
    _, db, summary, _ = fault_run
    assert summary.stats.seen == len(FAULTS)
    assert summary.stats.ok + summary.stats.errors == summary.stats.seen
    assert count(db, "select count(*) from raw.images") == [(len(FAULTS),)]
    decode_errors = count(db, "select count(*) from raw.images where decode_error is not null")[0][0]
    expected = sum(f.outcome == "error" for f in FAULTS) - (1 if _is_root() else 0)
    assert decode_errors == expected == summary.stats.errors


def test_cli_run_exits_zero_with_broken_files(fault_run, tmp_path):
    from typer.testing import CliRunner

    root, _, _, _ = fault_run
    result = CliRunner().invoke(app, ["run", str(root), "--stages", "faces", "--workers", "0",
                                      "--device", "cpu", "--db", str(tmp_path / "cli.duckdb"), "--json"])
    assert result.exit_code == 0, result.output
    assert '"errors": ' in result.output


def reliability_table() -> str:
    lines = ["| fault | outcome | recorded reason | note |", "|---|---|---|---|"]
    for f in FAULTS:
        name = f.name
        lines.append(f"| {name} | {f.outcome} | {f.reason or '-'} | {f.note} |")
    return "\n".join(lines)


def test_reliability_md_lists_every_fault():
    text = (REPO / "RELIABILITY.md").read_text()
    assert reliability_table() in text, "regenerate the table: python tests/pytest/pipeline/faults_table.py"
