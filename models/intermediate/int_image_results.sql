-- The winning result per annotator, stage and image: the latest run (by run start,
-- ties by run_id) of that annotator in which the image is ok. Errors never count as
-- processed; shards and resumed runs of one annotator add up.
with ok_results as (
    select
        image_runs.annotator,
        image_runs.stage,
        image_runs.image_id,
        image_runs.run_id,
        row_number() over (
            partition by image_runs.annotator, image_runs.stage, image_runs.image_id
            order by image_runs.run_started_at desc nulls last, image_runs.run_id desc
        ) as recency
    from {{ ref('stg_image_runs') }} as image_runs
    where image_runs.status = 'ok'
)

select
    ok_results.annotator,
    ok_results.stage,
    ok_results.image_id,
    ok_results.run_id,
    images.dataset,
    images.split,
    images.wnid
from ok_results
inner join {{ ref('stg_images') }} as images
    on ok_results.image_id = images.image_id
where ok_results.recency = 1
