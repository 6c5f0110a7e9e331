-- The face questions' candidates of review_queue, built apart from it so that they are ready
-- while the queue waits on the NSFW clustering (nsfw_clusters, for its shortlist): is_face
-- items, with their reason and closeness to the threshold, and kept faces with apparent age
-- below var minor_age (apparent_minor candidates: the queue keeps those of flagged classes).
-- The questions' rules are review_queue's (see there).
-- the winning face results: the face questions' boxes and who processed each image
with results as (
    select * from {{ ref('int_image_results') }}
    where stage = {{ stage('faces') }}
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
        results.stage = {{ stage('faces') }}
        and not {{ is_reference('results.annotator') }}
        and faces.x1 is not null and faces.y1 is not null
        and faces.x2 is not null and faces.y2 is not null
),

kept as (
    select * from face_boxes
    where {{ kept_face('det_score', 'verified') }}
),

face_annotators as (
    select
        annotator,
        image_id
    from results
    where stage = {{ stage('faces') }} and not {{ is_reference('annotator') }}
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
    inner join face_annotators as other
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
),

face_items as (
    select
        'is_face' as question,
        face_boxes.*,
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
        ) as reason,
        abs(face_boxes.det_score - {{ var('face_min_score') }}) as closeness
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
),

minor_candidates as (
    select
        'apparent_minor' as question,
        kept.*,
        printf('apparent age %.1f in a flagged class', kept.age) as reason,
        cast(null as double) as closeness
    from kept
    where kept.age < {{ var('minor_age') }}
)

select * from face_items
union all
select * from minor_candidates
