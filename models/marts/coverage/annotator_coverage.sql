-- What each annotator has processed, per stage and dataset: the one source of the coverage
-- counts that `ingest summary` and `ingest card` print. An image is ok when some run of the
-- annotator has it ok (a winning run in int_image_outcomes, the winning result the marts use),
-- and in error only when no run of the annotator ever had it ok: an image that failed and then
-- succeeded (`ingest run --retry-errors`, a resumed run) counts once, as ok.
-- One aggregate over the per-image outcomes, which carry their winning run's result row count.
select
    annotator,
    stage,
    dataset,
    count(run_id) as n_images_ok,
    count(*) filter (where run_id is null) as n_images_error,
    cast(coalesce(sum(n_result_rows), 0) as bigint) as n_result_rows
from {{ ref('int_image_outcomes') }}
group by annotator, stage, dataset
