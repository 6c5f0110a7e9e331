-- The winning result per annotator, stage and image: the latest run (by run start,
-- ties by the larger run_id, a NULL start loses) of that annotator in which the image is
-- ok. Errors never count as processed; shards and resumed runs of one annotator add up.
-- This is where an image run meets its run's annotator and stage (staging stays 1:1).
-- Runs are ranked once (few rows), then a hash aggregate picks the best-ranked ok run of
-- each image: several times faster than a row_number() window over every image run.
with run_order as (
    select
        run_id,
        annotator,
        stage,
        dense_rank() over (order by annotator, stage) as run_group,
        row_number() over (
            partition by annotator, stage
            order by started_at desc nulls last, run_id desc
        ) as recency
    from {{ ref('stg_runs') }}
),

run_groups as (
    select distinct
        run_group,
        annotator,
        stage
    from run_order
),

latest_ok as (
    select
        run_order.run_group,
        image_runs.image_id,
        arg_min(image_runs.run_id, run_order.recency) as run_id
    from {{ ref('stg_image_runs') }} as image_runs
    inner join run_order
        on image_runs.run_id = run_order.run_id
    where image_runs.status = 'ok'
    group by run_order.run_group, image_runs.image_id
)

select
    run_groups.annotator,
    run_groups.stage,
    latest_ok.image_id,
    latest_ok.run_id,
    images.dataset,
    images.split,
    images.wnid
from latest_ok
inner join run_groups
    on latest_ok.run_group = run_groups.run_group
inner join {{ ref('stg_images') }} as images
    on latest_ok.image_id = images.image_id
