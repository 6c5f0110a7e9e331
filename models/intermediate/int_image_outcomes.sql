-- The outcome of every image each annotator attempted, per stage: the winning run (the latest
-- run by run start, ties by the larger run_id, a NULL start loses, of that annotator and stage
-- in which the image is ok; NULL when every attempt failed) and what the marts need of its
-- result rows: how many there are, the NSFW score, the rank of the label among the
-- predictions. Runs are ranked once (few rows), then a hash aggregate picks each image's
-- best-ranked ok run (arg_min): several times faster than a row_number() window; images of an
-- annotator and stage that has a single run skip it.
-- One branch per stage (BENCHMARKS.md 3g): each stage's winners meet only their own result
-- table, so no join is probed by every image run, and a full build's CTEs stay unmaterialized,
-- so no branch holds every winner in memory (the stage filter reaches the image runs' scan);
-- an incremental build materializes its outcomes, which pick the images it joins.
-- Incremental (macros/image_outcomes.sql): a build after a new run recomputes only the images
-- that run attempted, from every run of the group, so a newer ok run replaces the old winner
-- and a newer error does not; a run that changed since the last build (resumed, more parts
-- landed, result rows added) or vanished recomputes its whole annotator and stage. An image's
-- result rows land with its image_runs row (the raw contract), so they are read once, with the
-- image; a run whose result-row count changed later is recomputed whole, as a changed run.
-- Each build logs its kind in <model>_builds (runs, groups or full), so that the per-image
-- models after it (macros/image_deltas.sql) know whether its newer rows are all that changed.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['annotator', 'stage', 'image_id'],
    on_schema_change='append_new_columns',
    pre_hook=[
        "{{ fingerprint_image_outcome_runs() }}",
        "{{ record_image_outcome_build() }}",
        "{{ clear_rebuilt_image_outcomes() }}"
    ],
    post_hook=["{{ refuse_repeated_image_outcomes() }}", "{{ record_image_outcome_runs() }}"]
) }}
{%- set ledger = image_outcome_ledger() %}

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
{{ image_outcome_scope_ctes(ledger) }}
attempts as not materialized (
    select
        run_order.run_group,
        run_order.stage,
        image_runs.image_id,
        image_runs.run_id,
        image_runs.status,
        run_order.recency,
        run_order.n_group_runs
    from {{ ref('stg_image_runs') }} as image_runs
    inner join run_order
        on image_runs.run_id = run_order.run_id
    {{- image_outcome_scope(ledger) }}
),

-- an annotator and stage with one run needs no ranking: an image has one row in a run; the
-- stage is a grouping key (it follows from run_group) so that a branch's stage filter reaches
-- the scan below the aggregate
winners as not materialized (
    select
        run_group,
        stage,
        image_id,
        case when status = 'ok' then run_id end as run_id
    from attempts
    where n_group_runs = 1
    union all
    select
        run_group,
        stage,
        image_id,
        arg_min(run_id, recency) filter (where status = 'ok') as run_id
    from attempts
    where n_group_runs > 1
    group by run_group, stage, image_id
),

face_rows as (
    select
        run_id,
        image_id,
        count(*) as n_rows
    from {{ ref('stg_faces') }}
    group by run_id, image_id
),

classify_winners as not materialized (
    select * from winners
    where stage = {{ stage('classify') }}
),

prediction_rows as (
    select
        classify_winners.run_id,
        classify_winners.image_id,
        count(*) as n_rows
    from classify_winners
    inner join {{ ref('stg_predictions') }} as predictions
        on classify_winners.run_id = predictions.run_id and classify_winners.image_id = predictions.image_id
    group by classify_winners.run_id, classify_winners.image_id
),

-- the rank of the image's own label among each run's top 5: the join on image and class keeps
-- only the matching predictions (one in ten at most): a full build ranks every run's, an
-- incremental one its own winners' (image_outcome_own_winners); a prediction row that
-- names only its class_index (the contract lets an external writer leave wnid NULL) is looked
-- up in imagenet_classes
label_ranks as (
    select
        predictions.run_id,
        predictions.image_id,
        min(predictions.rank) as label_rank
    from {{ ref('stg_predictions') }} as predictions
    left join {{ ref('imagenet_classes') }} as classes
        on predictions.class_index = classes.class_index
    inner join {{ image_outcome_images(ledger, 'classify_winners') }} as images
        on
            predictions.image_id = images.image_id
            and coalesce(predictions.wnid, classes.wnid) = images.wnid
    {{- image_outcome_own_winners('predictions', 'classify_winners', ledger) }}
    where predictions.rank between 1 and 5
    group by predictions.run_id, predictions.image_id
),

-- materialized in an incremental build: its few rows also pick the images to join below
outcomes as {% if ledger is not none %}materialized {% endif %}(
    select
        winners.run_group,
        winners.image_id,
        winners.run_id,
        coalesce(face_rows.n_rows, 0) as n_result_rows,
        cast(null as double) as nsfw_score,
        cast(null as integer) as label_rank
    from winners
    left join face_rows
        on winners.run_id = face_rows.run_id and winners.image_id = face_rows.image_id
    where winners.stage = {{ stage('faces') }}
    union all
    select
        winners.run_group,
        winners.image_id,
        winners.run_id,
        case when nsfw.run_id is null then 0 else 1 end as n_result_rows,
        nsfw.nsfw_score,
        null as label_rank
    from winners
    left join {{ ref('stg_nsfw') }} as nsfw
        on winners.run_id = nsfw.run_id and winners.image_id = nsfw.image_id
    where winners.stage = {{ stage('nsfw') }}
    union all
    select
        classify_winners.run_group,
        classify_winners.image_id,
        classify_winners.run_id,
        coalesce(prediction_rows.n_rows, 0) as n_result_rows,
        null as nsfw_score,
        label_ranks.label_rank
    from classify_winners
    left join prediction_rows
        on
            classify_winners.run_id = prediction_rows.run_id
            and classify_winners.image_id = prediction_rows.image_id
    left join label_ranks
        on
            classify_winners.run_id = label_ranks.run_id
            and classify_winners.image_id = label_ranks.image_id
    union all
    -- a stage whose results this layer does not read (image_faces: imported labels)
    select
        run_group,
        image_id,
        run_id,
        0 as n_result_rows,
        null as nsfw_score,
        null as label_rank
    from winners
    where stage not in ({{ stage('faces') }}, {{ stage('nsfw') }}, {{ stage('classify') }})
)

-- the wide columns are joined last, once; an image missing from raw.images keeps its row, with
-- a NULL dataset that the not_null test reports (the raw contract's relationship)
select
    run_groups.annotator,
    run_groups.stage,
    outcomes.image_id,
    outcomes.run_id,
    images.dataset,
    images.split,
    images.wnid,
    cast(outcomes.n_result_rows as bigint) as n_result_rows,
    outcomes.nsfw_score,
    cast(outcomes.label_rank as integer) as label_rank,
    {{ build_started_at() }} as built_at
from outcomes
inner join run_groups
    on outcomes.run_group = run_groups.run_group
left join {{ image_outcome_images(ledger, 'outcomes') }} as images
    on outcomes.image_id = images.image_id
