-- What each annotator has processed, per stage and dataset: the one source of the coverage
-- counts that `ingest summary` and `ingest card` print. An image is ok when some run of the
-- annotator has it ok (int_image_results, the winning result the marts use), and in error
-- only when no run of the annotator ever had it ok: an image that failed and then succeeded
-- (`ingest run --retry-errors`, a resumed run) counts once, as ok.
-- Result rows are counted per group straight from the winning (run, image) pairs: no
-- per-image aggregate of the result tables and no join back to the images.
-- ok: the images with a winning result; error: images with an error row and no result (few:
-- the error rows alone are read, never every image run)
with images_ok as (
    select
        annotator,
        stage,
        dataset,
        count(*) as n_images_ok
    from {{ ref('int_image_results') }}
    group by annotator, stage, dataset
),

failed as (
    select distinct
        runs.annotator,
        runs.stage,
        image_runs.image_id
    from {{ ref('stg_image_runs') }} as image_runs
    inner join {{ ref('stg_runs') }} as runs
        on image_runs.run_id = runs.run_id
    where image_runs.status = 'error'
),

images_error as (
    select
        failed.annotator,
        failed.stage,
        images.dataset,
        count(*) as n_images_error
    from failed
    inner join {{ ref('stg_images') }} as images
        on failed.image_id = images.image_id
    anti join {{ ref('int_image_results') }} as results
        on
            failed.annotator = results.annotator
            and failed.stage = results.stage
            and failed.image_id = results.image_id
    group by failed.annotator, failed.stage, images.dataset
),

images_by_outcome as (
    select
        coalesce(images_ok.annotator, images_error.annotator) as annotator,
        coalesce(images_ok.stage, images_error.stage) as stage,
        coalesce(images_ok.dataset, images_error.dataset) as dataset,
        coalesce(images_ok.n_images_ok, 0) as n_images_ok,
        coalesce(images_error.n_images_error, 0) as n_images_error
    from images_ok
    full outer join images_error
        on
            images_ok.annotator = images_error.annotator
            and images_ok.stage = images_error.stage
            and images_ok.dataset = images_error.dataset
),

-- result rows of the winning runs only (what the marts read); one branch per stage
result_rows as (
    {%- for stage, staging in [('faces', 'stg_faces'), ('nsfw', 'stg_nsfw'), ('classify', 'stg_predictions')] %}
        {%- if not loop.first %}
            union all
        {%- endif %}
        select
            results.annotator,
            results.stage,
            results.dataset,
            count(*) as n_rows
        from {{ ref('int_image_results') }} as results
        inner join {{ ref(staging) }} as stage_rows
            on results.run_id = stage_rows.run_id and results.image_id = stage_rows.image_id
        where results.stage = '{{ stage }}'
        group by results.annotator, results.stage, results.dataset
    {%- endfor %}
)

select
    images_by_outcome.annotator,
    images_by_outcome.stage,
    images_by_outcome.dataset,
    images_by_outcome.n_images_ok,
    images_by_outcome.n_images_error,
    coalesce(result_rows.n_rows, 0)::bigint as n_result_rows
from images_by_outcome
left join result_rows
    on
        images_by_outcome.annotator = result_rows.annotator
        and images_by_outcome.stage = result_rows.stage
        and images_by_outcome.dataset = result_rows.dataset
