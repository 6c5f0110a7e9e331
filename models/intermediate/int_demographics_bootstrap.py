"""95 % percentile bootstrap intervals of the demographics headline shares (DESIGN.md,
"Uncertainty"), one row per face annotator and dataset with a kept face: datasets are never
pooled, so a dataset's intervals are the same whatever else the warehouse holds.

The unit resampled is the IMAGE, not the face: faces in one photo are not independent. For a
share num / den (pct_female: apparent women / faces with a gender score; pct_over_60: faces
in the 60+ bucket / faces with an age) each image contributing to den is one (den_i, num_i)
pair, and a replicate draws as many images as there are, with replacement, from them.
Images with equal (den_i, num_i) are interchangeable, so drawing m images is drawing the
multinomial counts of the distinct pairs (a handful: faces per image are few) with
probabilities (images of the pair) / m: the exact multinomial bootstrap at O(m + B x pairs)
cost instead of O(B x m). numpy's Generator (PCG64) is seeded by [var bootstrap_seed,
the first 8 bytes of sha256(annotator), the first 8 bytes of sha256(dataset)], so each
(annotator, dataset)'s intervals depend on the seed and its own faces only. Bounds: the
2.5th and 97.5th percentiles of the B replicate shares (numpy's default linear interpolation).
NULL where fewer than two images contribute to den: one image's bootstrap has no spread and
would claim certainty.

Where every image agrees (a share of 0 % or 100 %, or every image the same share) every
replicate equals the estimate and the percentile interval has no width: "0 of 46 faces,
[0, 0]" would claim certainty. There the interval is the Wilson score interval (z =
1.959964, macros/wilson_interval.sql) of the share with the contributing IMAGES as trials,
the same unit the bootstrap resamples (its width is Wilson's over images where it has
spread; faces as trials would be narrower than the clustering allows). pct_female_interval
and pct_over_60_interval name the method: 'bootstrap' or 'wilson' (NULL with no interval).
"""

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa

SCHEMA = pa.schema(
    [
        ("annotator", pa.string()),
        ("dataset", pa.string()),
        ("bootstrap_samples", pa.int64()),
        ("bootstrap_seed", pa.int64()),
        ("n_images_gender", pa.int64()),
        ("pct_female_lo", pa.float64()),
        ("pct_female_hi", pa.float64()),
        ("pct_female_interval", pa.string()),
        ("n_images_age", pa.int64()),
        ("pct_over_60_lo", pa.float64()),
        ("pct_over_60_hi", pa.float64()),
        ("pct_over_60_interval", pa.string()),
    ]
)

# Per annotator and dataset, how many images share each per-image aggregate (the bootstrap's atoms).
PAIRS_SQL = """
with per_image as (
    select
        annotator,
        dataset,
        image_id,
        count(gender) as n_gender,
        count(*) filter (where gender = 'female') as n_female,
        count(age) as n_age,
        count(*) filter (where age_bucket = '60+') as n_over_60
    from kept_faces
    group by annotator, dataset, image_id
)
select annotator, dataset, n_gender, n_female, n_age, n_over_60, count(*) as n_images
from per_image
group by annotator, dataset, n_gender, n_female, n_age, n_over_60
order by annotator, dataset, n_gender, n_female, n_age, n_over_60
"""

PERCENTILES = [2.5, 97.5]
Z = 1.959964  # 95 %, as macros/wilson_interval.sql
NO_SPREAD = 1e-9  # percentage points: replicates that differ by rounding only


def _key(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def annotator_rng(seed: int, annotator: str, dataset: str) -> np.random.Generator:
    return np.random.default_rng([seed, _key(annotator), _key(dataset)])


def percentile_interval(pairs: pd.DataFrame, den: str, num: str, samples: int, rng: np.random.Generator):
    """(n images contributing, lo, hi) of 100 * sum(num) / sum(den), resampling images."""
    atoms = pairs[pairs[den] > 0].groupby([den, num], as_index=False, sort=True)["n_images"].sum()
    m = int(atoms["n_images"].sum())
    if m < 2:
        return m, None, None
    weights = atoms["n_images"].to_numpy(dtype=np.float64) / m
    counts = rng.multinomial(m, weights, size=samples)  # (B, atoms): images drawn of each kind
    dens = counts @ atoms[den].to_numpy(dtype=np.float64)  # > 0: every atom has den >= 1
    nums = counts @ atoms[num].to_numpy(dtype=np.float64)
    lo, hi = np.percentile(100.0 * nums / dens, PERCENTILES)
    return m, float(lo), float(hi)


def wilson_interval(share_pct: float, trials: int) -> tuple[float, float]:
    """Wilson score bounds (percent) of a share given in percent over `trials` trials;
    exactly 0 and 100 at the edges, as the macro."""
    k, n = share_pct / 100.0 * trials, float(trials)
    root = Z * np.sqrt(max(k * (n - k) / n, 0.0) + Z * Z / 4)
    lo = 0.0 if k <= 0 else max(0.0, (k + Z * Z / 2 - root) / (n + Z * Z))
    hi = 1.0 if k >= n else min(1.0, (k + Z * Z / 2 + root) / (n + Z * Z))
    return float(100.0 * lo), float(100.0 * hi)


def share_interval(pairs: pd.DataFrame, den: str, num: str, samples: int, rng: np.random.Generator):
    """(n images contributing, lo, hi, method) of 100 * sum(num) / sum(den): the percentile
    bootstrap over images, or Wilson's interval over the same images where the bootstrap has
    no spread; (m, None, None, None) below two images."""
    m, lo, hi = percentile_interval(pairs, den, num, samples, rng)
    if lo is None:
        return m, None, None, None
    if hi - lo > NO_SPREAD:
        return m, lo, hi, "bootstrap"
    used = pairs[pairs[den] > 0]
    share = 100.0 * float((used[num] * used["n_images"]).sum()) / float((used[den] * used["n_images"]).sum())
    lo, hi = wilson_interval(share, m)
    return m, lo, hi, "wilson"


def model(dbt, session):
    dbt.config(materialized="table")
    samples = int(dbt.config.get("bootstrap_samples"))
    seed = int(dbt.config.get("bootstrap_seed"))
    if samples < 1:
        raise ValueError(f"var bootstrap_samples must be at least 1, got {samples}")
    if seed < 0:
        raise ValueError(f"var bootstrap_seed must be a non-negative integer, got {seed}")

    pairs = dbt.ref("int_census_faces").query("kept_faces", PAIRS_SQL).df()
    rows = []
    for (annotator, dataset), part in pairs.groupby(["annotator", "dataset"], sort=True):
        rng = annotator_rng(seed, annotator, dataset)
        n_gender, female_lo, female_hi, female_by = share_interval(part, "n_gender", "n_female", samples, rng)
        n_age, old_lo, old_hi, old_by = share_interval(part, "n_age", "n_over_60", samples, rng)
        rows.append(
            {
                "annotator": annotator,
                "dataset": dataset,
                "bootstrap_samples": samples,
                "bootstrap_seed": seed,
                "n_images_gender": n_gender,
                "pct_female_lo": female_lo,
                "pct_female_hi": female_hi,
                "pct_female_interval": female_by,
                "n_images_age": n_age,
                "pct_over_60_lo": old_lo,
                "pct_over_60_hi": old_hi,
                "pct_over_60_interval": old_by,
            }
        )
    result = pd.DataFrame(rows, columns=SCHEMA.names)
    return pa.Table.from_pandas(result, schema=SCHEMA, preserve_index=False)
