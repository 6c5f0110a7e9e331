-- Faces of the winning face run of each image that the census keeps: a verifying annotator's
-- verified faces, or det_score >= var face_min_score for an annotator without verification.
-- Incremental per image (macros/image_deltas.sql): after a build of the layer that only added
-- runs, only the images whose winning face result it rewrote are recomputed.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'image_delta': {'stage': 'faces'}},
    pre_hook="{{ prepare_image_delta() }}",
    post_hook="{{ record_image_delta() }}"
) }}
-- depends_on: {{ ref('int_image_outcomes') }}
select
    results.annotator,
    results.run_id,
    results.image_id,
    faces.face_idx,
    results.dataset,
    results.split,
    results.wnid,
    faces.det_score,
    faces.age,
    faces.gender_score,
    {{ apparent_gender('faces.gender_score') }} as gender,
    -- 2019 paper's age groups, on floor(apparent age)
    {{ age_bucket('faces.age') }} as age_bucket
from {{ ref('int_image_results') }} as results
inner join {{ ref('stg_faces') }} as faces
    on results.run_id = faces.run_id and results.image_id = faces.image_id
where
    results.stage = {{ stage('faces') }}
    and results.n_result_rows > 0
    and {{ kept_face('faces.det_score', 'faces.verified') }}
    {{- image_delta_filter() }}
