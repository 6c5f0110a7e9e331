"""Measured annotator error (DESIGN.md, "Reference labels and measured annotator error"): every
non-reference face annotator against every reference annotator (``reference/<name>``) on the
images both have ``ok`` (the winning, latest ok run of each, as in every mart).

Per image, the predicted faces (those the census keeps: verified, or det_score >= var
face_min_score) and the reference faces are matched one-to-one, maximising the total IoU over
the pairs with IoU >= 0.5 (Hungarian assignment, scipy.optimize.linear_sum_assignment). IoU is on the boxes as stored,
area = (x2 - x1) * (y2 - y1), no +1 pixel convention. Then per group of the reference faces
(all, gender, age_bucket, gender_age, attr:<attribute>): recall, gender accuracy and age MAE;
precision for the group ``all`` only. The 2019 paper's Tables 1-4.
"""

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.optimize import linear_sum_assignment

FACES = "faces"  # the stage, checked against var stages (config stages) when the model runs
MIN_IOU = 0.5
BOX = ["x1", "y1", "x2", "y2"]
GROUP_ORDER = {"all": 0, "gender": 1, "age_bucket": 2, "gender_age": 3}  # then attr:<name>, by name

SCHEMA = pa.schema(
    [
        ("annotator", pa.string()),
        ("reference", pa.string()),
        ("group_kind", pa.string()),
        ("group_value", pa.string()),
        ("n_reference", pa.int64()),
        ("n_predicted", pa.int64()),
        ("n_matched", pa.int64()),
        ("precision", pa.float64()),
        ("recall", pa.float64()),
        ("gender_accuracy", pa.float64()),
        ("age_mae", pa.float64()),
        ("n_gender_pairs", pa.int64()),
        ("n_age_pairs", pa.int64()),
        ("mean_iou", pa.float64()),
        ("n_images", pa.int64()),
        ("n_reference_images_with_faces", pa.int64()),
        ("n_predicted_images_with_faces", pa.int64()),
        ("n_images_with_faces_both", pa.int64()),
        ("image_precision", pa.float64()),
        ("image_recall", pa.float64()),
    ]
)


def iou_matrix(ref: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """IoU of every reference box (rows) with every predicted box (columns); boxes are
    (x1, y1, x2, y2) as stored, area (x2 - x1) * (y2 - y1); 0 where the union is empty and NaN
    where a box is missing."""
    rx1, ry1, rx2, ry2 = (ref[:, i][:, None] for i in range(4))
    px1, py1, px2, py2 = (pred[:, i][None, :] for i in range(4))
    inter = np.clip(np.minimum(rx2, px2) - np.maximum(rx1, px1), 0, None) * np.clip(
        np.minimum(ry2, py2) - np.maximum(ry1, py1), 0, None
    )
    union = (rx2 - rx1) * (ry2 - ry1) + (px2 - px1) * (py2 - py1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1), np.where(np.isnan(union), np.nan, 0.0))


def match(ref: np.ndarray, pred: np.ndarray) -> list[tuple[int, int, float]]:
    """One-to-one pairs (reference row, predicted row, IoU) maximising the total IoU over the
    pairs with IoU >= 0.5. Pairs under 0.5 weigh 0, so a maximum-weight full assignment keeps
    exactly a maximum-weight matching once its zero-weight pairs are dropped."""
    if len(ref) == 0 or len(pred) == 0:
        return []
    iou = iou_matrix(ref, pred)
    eligible = iou >= MIN_IOU  # NaN (a missing box) is never eligible
    if not eligible.any():
        return []
    weight = np.where(eligible, iou, 0.0)
    rows, cols = linear_sum_assignment(weight, maximize=True)
    return [(int(r), int(c), float(iou[r, c])) for r, c in zip(rows, cols, strict=True) if eligible[r, c]]


def evaluate_pair(images: np.ndarray, ref: pd.DataFrame, pred: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Match one annotator against one reference on their common images.

    Returns the reference faces (one row each) with matched, pred_gender_score, pred_age and
    iou, and the counts for the group ``all``."""
    common = pd.DataFrame({"image_id": images})  # an inner merge keeps the faces' order
    ref = ref.merge(common, on="image_id").reset_index(drop=True)
    pred = pred.merge(common, on="image_id").reset_index(drop=True)
    matched = np.zeros(len(ref), dtype=bool)
    pred_gender = np.full(len(ref), np.nan)
    pred_age = np.full(len(ref), np.nan)
    iou = np.full(len(ref), np.nan)
    pred_groups = {image: index for image, index in pred.groupby("image_id").indices.items()}
    ref_boxes = ref[BOX].to_numpy(dtype=np.float64, na_value=np.nan)
    pred_boxes = pred[BOX].to_numpy(dtype=np.float64, na_value=np.nan)
    pred_gender_scores = pred["gender_score"].to_numpy(dtype=np.float64, na_value=np.nan)
    pred_ages = pred["age"].to_numpy(dtype=np.float64, na_value=np.nan)
    for image, ref_index in ref.groupby("image_id").indices.items():
        pred_index = pred_groups.get(image)
        if pred_index is None:
            continue
        for r, p, value in match(ref_boxes[ref_index], pred_boxes[pred_index]):
            row, other = ref_index[r], pred_index[p]
            matched[row] = True
            pred_gender[row] = pred_gender_scores[other]
            pred_age[row] = pred_ages[other]
            iou[row] = value
    faces = ref.assign(matched=matched, pred_gender_score=pred_gender, pred_age=pred_age, iou=iou)
    ref_images = set(ref["image_id"])
    pred_images = set(pred["image_id"])
    image_counts = {
        "n_predicted": len(pred),
        "n_images": len(images),
        "n_reference_images_with_faces": len(ref_images),
        "n_predicted_images_with_faces": len(pred_images),
        "n_images_with_faces_both": len(ref_images & pred_images),
    }
    return faces, image_counts


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def group_row(faces: pd.DataFrame) -> dict:
    """Recall, gender accuracy, age MAE and counts over one group of reference faces."""
    pairs = faces[faces["matched"]]
    gender_pairs = pairs[pairs["gender_score"].notna() & pairs["pred_gender_score"].notna()]
    age_pairs = pairs[pairs["age"].notna() & pairs["pred_age"].notna()]
    agree = (gender_pairs["gender_score"] < 0.5) == (gender_pairs["pred_gender_score"] < 0.5)
    return {
        "n_reference": len(faces),
        "n_matched": len(pairs),
        "recall": ratio(len(pairs), len(faces)),
        "gender_accuracy": float(agree.mean()) if len(gender_pairs) else None,
        "age_mae": float((age_pairs["age"] - age_pairs["pred_age"]).abs().mean()) if len(age_pairs) else None,
        "n_gender_pairs": len(gender_pairs),
        "n_age_pairs": len(age_pairs),
        "mean_iou": float(pairs["iou"].mean()) if len(pairs) else None,
    }


def group_keys(faces: pd.DataFrame, attributes: pd.DataFrame) -> pd.DataFrame:
    """(face row, group_kind, group_value) for every group a reference face belongs to beyond
    ``all``; gender and age_bucket come from int_reference_faces (macros/age_bucket.sql)."""
    gender = faces["gender"].astype(object).where(faces["gender"].notna())
    bucket = faces["age_bucket"].astype(object).where(faces["age_bucket"].notna())
    parts = [
        pd.DataFrame({"row": faces.index, "group_kind": "gender", "group_value": gender}),
        pd.DataFrame({"row": faces.index, "group_kind": "age_bucket", "group_value": bucket}),
        pd.DataFrame({"row": faces.index, "group_kind": "gender_age", "group_value": gender + "|" + bucket}),
    ]
    if not attributes.empty:
        keyed = faces.reset_index().merge(attributes, on=["run_id", "image_id", "face_idx"], how="inner")
        parts.append(
            pd.DataFrame({"row": keyed["index"], "group_kind": "attr:" + keyed["attribute"],
                          "group_value": keyed["value"]})
        )
    keys = pd.concat(parts, ignore_index=True)
    return keys[keys["group_value"].notna()]


def evaluate(common: pd.DataFrame, ref_faces: pd.DataFrame, pred_faces: pd.DataFrame,
             attributes: pd.DataFrame) -> pd.DataFrame:
    """All rows of the mart from its inputs (pandas frames; see model() for their columns)."""
    rows = []
    for (annotator, reference), part in common.groupby(["annotator", "reference"], sort=True):
        images = part["image_id"].to_numpy()
        faces, counts = evaluate_pair(
            images,
            ref_faces[ref_faces["reference"] == reference],
            pred_faces[pred_faces["annotator"] == annotator],
        )
        everything = group_row(faces)
        everything.update(counts)
        everything["precision"] = ratio(everything["n_matched"], counts["n_predicted"])
        everything["image_precision"] = ratio(counts["n_images_with_faces_both"],
                                              counts["n_predicted_images_with_faces"])
        everything["image_recall"] = ratio(counts["n_images_with_faces_both"],
                                           counts["n_reference_images_with_faces"])
        rows.append({"annotator": annotator, "reference": reference, "group_kind": "all",
                     "group_value": "all", **everything})
        keys = group_keys(faces, attributes[attributes["reference"] == reference])
        for (kind, value), members in keys.groupby(["group_kind", "group_value"], sort=True):
            rows.append({"annotator": annotator, "reference": reference, "group_kind": kind,
                         "group_value": value, **group_row(faces.loc[members["row"].to_numpy()])})
    result = pd.DataFrame(rows, columns=SCHEMA.names)
    if result.empty:
        return result
    order = result["group_kind"].map(lambda k: GROUP_ORDER.get(k, len(GROUP_ORDER)))
    result = result.assign(_order=order).sort_values(["annotator", "reference", "_order", "group_kind",
                                                      "group_value"])
    return result.drop(columns="_order").reset_index(drop=True)


INPUTS = """
with results as not materialized (
    select annotator, image_id, run_id from _eval_results where stage = '{faces}'
),
refs as (select * from results where annotator like '{prefix}%'),
preds as (select * from results where annotator not like '{prefix}%')
select {select}
"""


def model(dbt, session):
    dbt.config(materialized="table")
    min_score = float(dbt.config.get("face_min_score"))
    prefix = str(dbt.config.get("reference_prefix"))
    if FACES not in str(dbt.config.get("stages")).split(","):
        raise ValueError(f"The stage {FACES!r} is not one of var stages ({dbt.config.get('stages')}).")

    relations = {
        "_eval_results": dbt.ref("int_image_results"),
        "_eval_faces": dbt.ref("stg_faces"),
        "_eval_reference_faces": dbt.ref("int_reference_faces"),
        "_eval_attributes": dbt.ref("stg_face_attributes"),
    }
    for name, relation in relations.items():
        relation.create_view(name, replace=True)
    try:

        def query(select: str) -> pd.DataFrame:
            return session.sql(INPUTS.format(prefix=prefix, faces=FACES, select=select)).df()

        # most warehouses hold no reference annotator: one cheap count instead of joining every
        # face result (28M at ImageNet-21k size) with nothing
        no_reference = query("count(*) = 0 from refs").iat[0, 0]
        common = pd.DataFrame() if no_reference else query(
            "preds.annotator, refs.annotator as reference, refs.image_id from refs "
            "inner join preds on refs.image_id = preds.image_id"
        )
        if common.empty:
            return pa.Table.from_pandas(pd.DataFrame(columns=SCHEMA.names), schema=SCHEMA, preserve_index=False)
        ref_faces = query(
            "reference, run_id, image_id, face_idx, x1, y1, x2, y2, age, gender_score, gender, age_bucket "
            "from _eval_reference_faces order by 1, 3, 4"
        )
        pred_faces = query(
            "preds.annotator, f.image_id, f.face_idx, f.x1, f.y1, f.x2, f.y2, f.age, f.gender_score "
            "from preds inner join _eval_faces as f on preds.run_id = f.run_id and preds.image_id = f.image_id "
            f"where coalesce(f.verified, f.det_score >= {min_score!r}, false) "
            "and f.image_id in (select image_id from refs) order by 1, 2, 3"
        )
        attributes = query(
            "refs.annotator as reference, a.run_id, a.image_id, a.face_idx, a.attribute, a.value "
            "from refs inner join _eval_attributes as a on refs.run_id = a.run_id and refs.image_id = a.image_id"
        )
    finally:
        for name in relations:
            session.execute(f"drop view if exists {name}")
    result = evaluate(common, ref_faces, pred_faces, attributes)
    return pa.Table.from_pandas(result, schema=SCHEMA, preserve_index=False)
