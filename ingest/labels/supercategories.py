"""Supercategories of the 1,000 ILSVRC-2012 classes from WordNet 3.0 (`ingest labels
supercategories`): the dbt seed ``seeds/imagenet_supercategories.csv`` that groups the census
and the image-level evaluation by kind of class.

Five groups are those of Yang et al. 2022 ("A Study of Face Obfuscation in ImageNet", ICML,
Table 2), with the authors' rule (their ``analysis/supercategories.py``): a class belongs to a
supercategory when the supercategory's synset is the class's synset or one of its hypernyms
(``closure`` over ``hypernyms()``). The others make every class belong to exactly one group.
The first group that matches wins; Yang et al.'s five do not overlap on ILSVRC-2012 (49, 44,
26, 59 and 27 classes), so their counts are theirs.

WordNet is read as the label audit reads it (``label_audit.wordnet``: Debian's wordnet-base);
the seed is committed, so nothing here runs at build time.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..core.classes import imagenet_labels, imagenet_wnids

#: (supercategory, WordNet synset), first match wins; a class under none of them is ``other``
SUPERCATEGORIES: tuple[tuple[str, str], ...] = (
    ("clothing", "clothing.n.01"),  # Yang et al. 2022, Table 2
    ("wheeled vehicle", "wheeled_vehicle.n.01"),  # Yang et al. 2022, Table 2
    ("musical instrument", "musical_instrument.n.01"),  # Yang et al. 2022, Table 2
    ("bird", "bird.n.01"),  # Yang et al. 2022, Table 2
    ("insect", "insect.n.01"),  # Yang et al. 2022, Table 2
    ("person", "person.n.01"),  # scuba diver, groom, ballplayer
    ("dog", "dog.n.01"),
    ("other mammal", "mammal.n.01"),
    ("other animal", "animal.n.01"),
    ("other artifact", "artifact.n.01"),
)
OTHER = "other"
SEED_COLUMNS = ("wnid", "label", "supercategory", "synset")
#: where `ingest labels supercategories` writes by default: a dbt seed of the checkout
DEFAULT_SEED = Path(__file__).resolve().parents[2] / "seeds" / "imagenet_supercategories.csv"


def supercategory_rows(wn) -> list[dict[str, str]]:
    """One row per ILSVRC-2012 class, in class-index order: its supercategory and that group's
    synset (empty for ``other``). ``wn`` is nltk's WordNet 3.0 reader."""
    roots = [(name, wn.synset(synset)) for name, synset in SUPERCATEGORIES]
    labels = imagenet_labels()
    rows = []
    for wnid in imagenet_wnids():
        synset = wn.synset_from_pos_and_offset("n", int(wnid[1:]))
        ancestors = {synset, *synset.closure(lambda s: s.hypernyms())}
        name, root = next(((n, r) for n, r in roots if r in ancestors), (OTHER, None))
        rows.append({"wnid": wnid, "label": labels[wnid], "supercategory": name,
                     "synset": root.name() if root is not None else ""})
    return rows


def write_seed(path: Path = DEFAULT_SEED, wn=None) -> list[dict[str, str]]:
    """Compute the rows (WordNet from ``label_audit.wordnet`` unless given) and write the seed."""
    if wn is None:
        from .label_audit import wordnet

        wn = wordnet()
    rows = supercategory_rows(wn)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=SEED_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)
    return rows
