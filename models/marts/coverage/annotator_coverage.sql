-- What each annotator has processed, per stage and dataset: the one source of the coverage
-- counts that `ingest summary` and `ingest card` print. An image is ok when some run of the
-- annotator has it ok (int_image_results, the winning result the marts use), and in error
-- only when no run of the annotator ever had it ok: an image that failed and then succeeded
-- (`ingest run --retry-errors`, a resumed run) counts once, as ok.
-- Result rows are counted per group straight from the winning (run, image) pairs: no
-- per-image aggregate of the result tables and no join back to the images.
with attempts as (
    select distinct
        runs.annotator,
        runs.stage,
        image_runs.image_id
    from {{ ref('stg_image_runs') }} as image_runs
    inner join {{ ref('stg_runs') }} as runs
        on image_runs.run_id = runs.run_id
),

images_by_outcome as (
    select
        attempts.annotator,
        attempts.stage,
        images.dataset,
        count(results.image_id) as n_images_ok,
        count(*) filter (where results.image_id is null) as n_images_error
    from attempts
    inner join {{ ref('stg_images') }} as images
        on attempts.image_id = images.image_id
    left join {{ ref('int_image_results') }} as results
        on
            attempts.annotator = results.annotator
            and attempts.stage = results.stage
            and attempts.image_id = results.image_id
    group by attempts.annotator, attempts.stage, images.dataset
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
