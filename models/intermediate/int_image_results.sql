-- The winning result per annotator, stage and image: the latest run (by run start, ties by
-- the larger run_id, a NULL start loses) of that annotator in which the image is ok, i.e. the
-- images of int_image_outcomes that have a winning run. Errors never count as processed;
-- shards and resumed runs of one annotator add up. This is where an image run meets its run's
-- annotator and stage (staging stays 1:1). A view: int_image_outcomes is the stored,
-- incrementally built table. n_result_rows lets a reader of raw.faces skip the images whose
-- winning run found no face (nine in ten face results at ImageNet scale) before its join; it
-- counts faces, nsfw and predictions rows only (0 for image_faces, whose labels it never reads).
-- built_at (when the layer last wrote the row) lets the per-image incremental models read only
-- the rows a build rewrote (macros/image_deltas.sql).
{{ config(materialized='view') }}

select
    annotator,
    stage,
    image_id,
    run_id,
    dataset,
    split,
    wnid,
    n_result_rows,
    built_at
from {{ ref('int_image_outcomes') }}
where run_id is not null
