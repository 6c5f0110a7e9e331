-- The face questions review_queue asks about each image, before it ranks them: is_face items
-- (boxes with det_score within var review_face_band of var face_min_score, boxes whose
-- verifier overruled the threshold, kept boxes that another face annotator which processed the
-- image did not find: no kept box of it with IoU >= var review_iou_match) and apparent_minor
-- candidates (kept faces with apparent age below var minor_age; review_queue keeps those of a
-- flagged class). Reference annotators (reference/...) are ground truth and never queued; face
-- questions need a box, so faces imported without one are left out.
-- Incremental per image (macros/image_deltas.sql): an image's items follow from the winning
-- face results of every face annotator for it, so after a layer build that only added runs
-- the images whose winning face result that build rewrote are recomputed, for every annotator.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    meta={'image_delta': {'stage': 'faces', 'by': 'image'}},
    pre_hook="{{ prepare_image_delta() }}",
    post_hook="{{ record_image_delta() }}"
) }}
-- depends_on: {{ ref('int_image_outcomes') }}
-- the winning face results of the face annotators (not materialized: each reader's filters
-- reach the 28M-row scan at ImageNet-21k size)
with results as not materialized (
    select results.*
    from {{ ref('int_image_results') }} as results
    where
        results.stage = {{ stage('faces') }}
        and not {{ is_reference('results.annotator') }}
        {{- image_delta_filter() }}
),

face_boxes as (
    select
        results.annotator,
        results.image_id,
        results.dataset,
        results.split,
        results.wnid,
        faces.face_idx,
        faces.det_score,
        faces.verified,
        faces.verdict,
        faces.age,
        faces.x1,
        faces.y1,
        faces.x2,
        faces.y2
    from results
    inner join {{ ref('stg_faces') }} as faces
        on results.run_id = faces.run_id and results.image_id = faces.image_id
    where
        results.n_result_rows > 0
        and faces.x1 is not null and faces.y1 is not null
        and faces.x2 is not null and faces.y2 is not null
),

kept as (
    select * from face_boxes
    where {{ kept_face('det_score', 'verified') }}
),

best_match as (
    select
        kept.annotator,
        kept.image_id,
        kept.face_idx,
        other.annotator as other_annotator,
        coalesce(max(
            greatest(0, least(kept.x2, theirs.x2) - greatest(kept.x1, theirs.x1))
            * greatest(0, least(kept.y2, theirs.y2) - greatest(kept.y1, theirs.y1))
            / nullif(
                (kept.x2 - kept.x1) * (kept.y2 - kept.y1) + (theirs.x2 - theirs.x1) * (theirs.y2 - theirs.y1)
                - greatest(0, least(kept.x2, theirs.x2) - greatest(kept.x1, theirs.x1))
                * greatest(0, least(kept.y2, theirs.y2) - greatest(kept.y1, theirs.y1)),
                0
            )
        ), 0) as best_iou
    from kept
    inner join results as other
        on kept.image_id = other.image_id and kept.annotator <> other.annotator
    left join kept as theirs
        on other.image_id = theirs.image_id and other.annotator = theirs.annotator
    group by kept.annotator, kept.image_id, kept.face_idx, other.annotator
),

unmatched as (
    select
        annotator,
        image_id,
        face_idx,
        string_agg(other_annotator, ', ' order by other_annotator) as missed_by
    from best_match
    where best_iou < {{ var('review_iou_match') }}
    group by annotator, image_id, face_idx
)

select
    'is_face' as question,
    face_boxes.dataset,
    face_boxes.image_id,
    face_boxes.split,
    face_boxes.wnid,
    face_boxes.annotator,
    face_boxes.face_idx,
    face_boxes.x1,
    face_boxes.y1,
    face_boxes.x2,
    face_boxes.y2,
    face_boxes.det_score,
    face_boxes.age,
    concat_ws(
        '; ',
        case
            when abs(face_boxes.det_score - {{ var('face_min_score') }}) < {{ var('review_face_band') }}
                then printf(
                    'det_score %.3f near the threshold %s',
                    face_boxes.det_score,
                    '{{ var("face_min_score") }}'
                )
        end,
        case when unmatched.missed_by is not null then 'no matching box from ' || unmatched.missed_by end,
        case
            when {{ verifier_overruled('face_boxes.det_score', 'face_boxes.verified') }}
                then printf('the verifier says %s at det_score %.3f', face_boxes.verdict, face_boxes.det_score)
        end
    ) as reason
from face_boxes
left join unmatched
    on
        face_boxes.annotator = unmatched.annotator
        and face_boxes.image_id = unmatched.image_id
        and face_boxes.face_idx = unmatched.face_idx
where
    abs(face_boxes.det_score - {{ var('face_min_score') }}) < {{ var('review_face_band') }}
    or unmatched.missed_by is not null
    or {{ verifier_overruled('face_boxes.det_score', 'face_boxes.verified') }}
union all
select
    'apparent_minor' as question,
    dataset,
    image_id,
    split,
    wnid,
    annotator,
    face_idx,
    x1,
    y1,
    x2,
    y2,
    det_score,
    age,
    printf('apparent age %.1f in a flagged class', age) as reason
from kept
where age < {{ var('minor_age') }}
