-- What `ingest review serve` asks reviewers, one row per item (question, image_id,
-- annotator, face_idx), ordered within each question and dataset by priority:
-- nsfw_category: images of a class on the nsfw_clusters review shortlist, or with an NSFW
--   score >= var review_nsfw_min_score (any NSFW model's latest ok result), highest score first;
-- is_face: face boxes with det_score within var review_face_band of var face_min_score, boxes
--   whose verifier overruled the threshold (kept below it, or dropped above it), or kept boxes
--   that another face annotator which processed the image did not find (no kept box of it with
--   IoU >= var review_iou_match), closest to the threshold first;
-- apparent_minor: kept faces with apparent age below var minor_age in a flagged class (a class
--   with an image in the nsfw_category queue), youngest first.
-- Reference annotators (reference/...) are ground truth and never queued. Face questions need
-- a box; faces imported without one are left out.
-- the winning face results: the face questions' boxes and who processed each image (not
-- materialized: each reader's filters reach the 28M-row scan at ImageNet-21k size)
with results as not materialized (
    select * from {{ ref('int_image_results') }}
    where stage = {{ stage('faces') }}
),

images as (
    select
        image_id,
        rel_path
    from {{ ref('stg_images') }}
),

-- the winning NSFW results that have a score row (int_image_outcomes carries the score)
nsfw_results as (
    select
        dataset,
        image_id,
        split,
        wnid,
        nsfw_score
    from {{ ref('int_image_outcomes') }}
    where
        stage = {{ stage('nsfw') }}
        and run_id is not null
        and n_result_rows > 0
        and not {{ is_reference('annotator') }}
),

shortlist as (
    select distinct
        dataset,
        wnid
    from {{ ref('nsfw_clusters') }}
    where is_review_shortlist
),

-- an image is flagged when its class is on the shortlist or any NSFW model scores it at least
-- the minimum, so rows below it of an image off the shortlist never change its max: they are
-- dropped before grouping, which leaves a few flagged images instead of every scored one
flagged_images as (
    select
        nsfw_results.dataset,
        nsfw_results.image_id,
        any_value(nsfw_results.split) as split,
        any_value(nsfw_results.wnid) as wnid,
        max(nsfw_results.nsfw_score) as nsfw_score,
        bool_or(shortlist.wnid is not null) as on_shortlist
    from nsfw_results
    left join shortlist
        on nsfw_results.dataset = shortlist.dataset and nsfw_results.wnid = shortlist.wnid
    where
        shortlist.wnid is not null
        or nsfw_results.nsfw_score >= {{ var('review_nsfw_min_score') }}
    group by nsfw_results.dataset, nsfw_results.image_id
),

flagged_classes as (
    select distinct
        dataset,
        wnid
    from flagged_images
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
        and results.n_result_rows > 0
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

minor_items as (
    select
        'apparent_minor' as question,
        kept.*,
        printf('apparent age %.1f in a flagged class', kept.age) as reason
    from kept
    inner join flagged_classes
        on kept.dataset = flagged_classes.dataset and kept.wnid = flagged_classes.wnid
    where kept.age < {{ var('minor_age') }}
),

items as (
    select
        'nsfw_category' as question,
        dataset,
        image_id,
        split,
        wnid,
        cast(null as varchar) as annotator,
        cast(null as integer) as face_idx,
        cast(null as double) as x1,
        cast(null as double) as y1,
        cast(null as double) as x2,
        cast(null as double) as y2,
        cast(null as double) as det_score,
        cast(null as double) as age,
        concat_ws(
            '; ',
            case when on_shortlist then 'class on the NSFW review shortlist' end,
            case
                when nsfw_score >= {{ var('review_nsfw_min_score') }}
                    then printf('nsfw_score %.3f', nsfw_score)
            end
        ) as reason,
        row_number() over (partition by dataset order by nsfw_score desc nulls last, image_id asc) as priority
    from flagged_images
    union all
    select
        question,
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
        reason,
        row_number() over (partition by dataset order by closeness, image_id, annotator, face_idx) as priority
    from face_items
    union all
    select
        question,
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
        reason,
        row_number() over (partition by dataset order by age, image_id, annotator, face_idx) as priority
    from minor_items
),

-- every item shows its image's highest NSFW score, read for the queued images only
item_scores as (
    select
        image_id,
        max(nsfw_score) as nsfw_score
    from nsfw_results
    where image_id in (select items.image_id from items)
    group by image_id
)

select
    items.question,
    items.dataset,
    items.image_id,
    images.rel_path,
    items.split,
    items.wnid,
    items.annotator,
    items.face_idx,
    items.x1,
    items.y1,
    items.x2,
    items.y2,
    items.det_score,
    items.age,
    item_scores.nsfw_score,
    items.reason,
    cast(items.priority as bigint) as priority
from items
inner join images
    on items.image_id = images.image_id
left join item_scores
    on items.image_id = item_scores.image_id
