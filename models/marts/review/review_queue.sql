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
-- a box; faces imported without one are left out. The face questions of each image come from
-- int_review_face_items (incremental per image); this model ranks every item.
with images as (
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

-- the face questions of each image (int_review_face_items, built per image): is_face items
-- as they are, apparent_minor candidates of a flagged class
face_items as (
    select
        *,
        abs(det_score - {{ var('face_min_score') }}) as closeness
    from {{ ref('int_review_face_items') }}
    where question = 'is_face'
),

minor_items as (
    select candidates.*
    from {{ ref('int_review_face_items') }} as candidates
    inner join flagged_classes
        on candidates.dataset = flagged_classes.dataset and candidates.wnid = flagged_classes.wnid
    where candidates.question = 'apparent_minor'
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
