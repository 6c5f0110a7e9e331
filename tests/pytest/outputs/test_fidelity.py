"""Fidelity to the 2020 authors' own files (issue 12): the seeds hold what their CSVs and
notebooks hold, every standard deviation states its ddof, and the checkout carries no local
state. The marts' side (hand_survey_check, the t-test's general population, the dataset
grain) is in test_marts.py."""

from __future__ import annotations

import csv
import subprocess
from collections import Counter
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]


def seed(name: str) -> list[dict[str, str]]:
    with (REPO / "seeds" / f"{name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_hand_survey_has_the_61_images_of_the_authors_csv():
    rows = seed("hand_survey_2020")
    assert len(rows) == 61  # df_hand_survey.csv (61, 3)
    tank_suit = [r for r in rows if r["wnid"] == "n03710721"]
    assert len(tank_suit) == 6
    assert [r["file_name"] for r in tank_suit if r["category"] == "verifiably_pornographic"] == [
        "n03710721_25886.JPEG"]
    assert {r["mean_nsfw_train"] for r in tank_suit} == {"0.768278"}
    assert len({r["file_name"] for r in rows}) == 61


def test_the_papers_16_instruments_and_the_stereotypes_it_cites():
    rows = {r["label"].split(",")[0]: r for r in seed("instrument_stereotypes")}
    in_paper = {label for label, r in rows.items() if r["in_paper"] == "true"}
    assert in_paper == {"accordion", "acoustic guitar", "banjo", "cello", "chime", "cornet", "drum", "flute",
                        "French horn", "harmonica", "harp", "maraca", "oboe", "sax", "trombone", "violin"}
    assert {r["in_paper"] for r in rows.values()} == {"true", "false"}
    cited = {label: r["stereotype"] for label, r in rows.items() if r["stereotype"] != "neutral"}
    assert cited == {"cello": "feminine", "oboe": "feminine", "flute": "feminine", "violin": "feminine",
                     "drum": "masculine", "banjo": "masculine", "trombone": "masculine", "cornet": "masculine",
                     "sax": "masculine"}  # harp: found pro-women by the paper, not a cited stereotype


def test_the_papers_dog_groups_give_its_figure_14a_counts():
    rows = seed("akc_dog_groups")
    assert Counter(r["paper_group"] for r in rows) == {
        "Herding": 11, "Hound": 20, "Non-Sporting": 11, "Sporting": 18, "Terrier": 20, "Toy": 16, "Unknown": 4,
        "Working": 20}
    differ = {r["label"].split(",")[0]: (r["akc_group"], r["paper_group"])
              for r in rows if r["akc_group"] != r["paper_group"]}
    assert {label: paper for label, (_, paper) in differ.items()} == {
        "groenendael": "Unknown", "kelpie": "Working", "Eskimo dog": "Non-Sporting", "Brabancon griffon": "Hound",
        "Mexican hairless": "Terrier", "African hunting dog": "Non-Sporting"}


def test_every_std_column_states_its_ddof():
    """A std without its ddof cannot be compared with the papers (the authors used ddof = 0
    for the NSFW std, pandas' default is 1)."""
    undocumented = []
    for path in (REPO / "models").rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            for column in model.get("columns", []):
                if column["name"].startswith("std_") and "ddof" not in column.get("description", ""):
                    undocumented.append(f"{model['name']}.{column['name']}")
    assert not undocumented, undocumented


def test_local_state_is_neither_committed_nor_unignored():
    """dbt's .user.yml (a per-machine id) and the build's egg-info belong to no commit."""
    tracked = subprocess.run(["git", "ls-files", "--cached"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.splitlines()
    assert not [p for p in tracked if p == ".user.yml" or ".egg-info/" in p], "remove them with git rm --cached"
    ignored = subprocess.run(["git", "check-ignore", "--no-index", ".user.yml", "census_warehouse.egg-info/PKG-INFO"],
                             cwd=REPO, capture_output=True, text=True).stdout.split()
    assert ignored == [".user.yml", "census_warehouse.egg-info/PKG-INFO"]
