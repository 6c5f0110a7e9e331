-- The outcome of every image each annotator attempted, per stage: the winning run (the latest
-- run by run start, ties by the larger run_id, a NULL start loses, of that annotator and stage
-- in which the image is ok; NULL when every attempt failed) and what the marts need of its
-- result rows: how many there are, the NSFW score, the rank of the label among the
-- predictions. Runs are ranked once (few rows), then a hash aggregate picks each image's
-- best-ranked ok run (arg_min): several times faster than a row_number() window; images of an
-- annotator and stage that has a single run skip it.
-- Incremental (macros/image_outcomes.sql): a build after a new run recomputes only the images
-- that run attempted, from every run of the group, so a newer ok run replaces the old winner
-- and a newer error does not; a run that changed since the last build (resumed, more parts
-- landed) or vanished recomputes its whole annotator and stage. An image's result rows land
-- with its image_runs row (the raw contract), so they are read once, with the image.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['annotator', 'stage', 'image_id'],
    on_schema_change='fail',
    pre_hook=["{{ fingerprint_image_outcome_runs() }}", "{{ clear_rebuilt_image_outcomes() }}"],
    post_hook="{{ record_image_outcome_runs() }}"
) }}

with run_order as (
    select
        run_id,
        annotator,
        stage,
        dense_rank() over (order by annotator, stage) as run_group,
        row_number() over (
            partition by annotator, stage
            order by started_at desc nulls last, run_id desc
        ) as recency,
        count(*) over (partition by annotator, stage) as n_group_runs
    from {{ ref('stg_runs') }}
),

run_groups as (
    select distinct
        run_group,
        annotator,
        stage
    from run_order
),

attempts as (
    select
        run_order.run_group,
        image_runs.image_id,
        image_runs.run_id,
        image_runs.status,
        run_order.recency,
        run_order.n_group_runs
    from {{ ref('stg_image_runs') }} as image_runs
    inner join run_order
        on image_runs.run_id = run_order.run_id
    {{- image_outcome_scope(image_outcome_ledger()) }}
),

-- an annotator and stage with one run needs no ranking: an image has one row in a run
latest as (
    select
        run_group,
        image_id,
        case when status = 'ok' then run_id end as run_id
    from attempts
    where n_group_runs = 1
    union all
    select
        run_group,
        image_id,
        arg_min(run_id, recency) filter (where status = 'ok') as run_id
    from attempts
    where n_group_runs > 1
    group by run_group, image_id
),

-- the winners, narrow: an annotator and stage is its run_group number until the last select
winners as (
    select
        latest.run_group,
        run_groups.stage,
        latest.image_id,
        latest.run_id
    from latest
    inner join run_groups
        on latest.run_group = run_groups.run_group
),

face_rows as (
    select
        run_id,
        image_id,
        count(*) as n_rows
    from {{ ref('stg_faces') }}
    group by run_id, image_id
),

-- a prediction row that names only its class_index (the contract lets an external writer
-- leave wnid NULL) is looked up in imagenet_classes
prediction_rows as (
    select
        winners.run_id,
        winners.image_id,
        count(*) as n_rows,
        min(predictions.rank) filter (
            where predictions.rank between 1 and 5 and coalesce(predictions.wnid, classes.wnid) = images.wnid
        ) as label_rank
    from winners
    inner join {{ ref('stg_images') }} as images
        on winners.image_id = images.image_id
    inner join {{ ref('stg_predictions') }} as predictions
        on winners.run_id = predictions.run_id and winners.image_id = predictions.image_id
    left join {{ ref('imagenet_classes') }} as classes
        on predictions.class_index = classes.class_index
    where winners.stage = {{ stage('classify') }}
    group by winners.run_id, winners.image_id
)

-- one pass over the winners: each stage's rows meet only their own result table (the stage is
-- part of each join's condition), and the wide columns are joined last, once
select
    run_groups.annotator,
    run_groups.stage,
    winners.image_id,
    winners.run_id,
    images.dataset,
    images.split,
    images.wnid,
    cast(case winners.stage
        when {{ stage('faces') }} then coalesce(face_rows.n_rows, 0)
        when {{ stage('nsfw') }} then case when nsfw.run_id is null then 0 else 1 end
        when {{ stage('classify') }} then coalesce(prediction_rows.n_rows, 0)
        else 0
    end as bigint) as n_result_rows,
    nsfw.nsfw_score,
    cast(prediction_rows.label_rank as integer) as label_rank
from winners
inner join run_groups
    on winners.run_group = run_groups.run_group
inner join {{ ref('stg_images') }} as images
    on winners.image_id = images.image_id
left join face_rows
    on
        winners.stage = {{ stage('faces') }}
        and winners.run_id = face_rows.run_id
        and winners.image_id = face_rows.image_id
left join {{ ref('stg_nsfw') }} as nsfw
    on
        winners.stage = {{ stage('nsfw') }}
        and winners.run_id = nsfw.run_id
        and winners.image_id = nsfw.image_id
left join prediction_rows
    on
        winners.stage = {{ stage('classify') }}
        and winners.run_id = prediction_rows.run_id
        and winners.image_id = prediction_rows.image_id
