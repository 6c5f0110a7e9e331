-- One label per reviewer and item, item = (image_id, annotator, face_idx, question): the
-- reviewer's latest answer (by reviewed_at, ties by the larger review_id) when a plain INSERT
-- left several. Image questions (nsfw_category) ignore annotator and face_idx. Labels of
-- images the warehouse does not know are left out.
with reviews as (
    select
        review_id,
        reviewer,
        image_id,
        case when question <> 'nsfw_category' then annotator end as annotator,
        case when question <> 'nsfw_category' then face_idx end as face_idx,
        question,
        answer,
        reviewed_at,
        note
    from {{ ref('stg_reviews') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by reviewer, image_id, annotator, face_idx, question
            order by reviewed_at desc nulls last, review_id desc
        ) as recency
    from reviews
)

select
    images.dataset,
    ranked.image_id,
    images.rel_path,
    images.split,
    images.wnid,
    ranked.annotator,
    ranked.face_idx,
    ranked.question,
    ranked.reviewer,
    ranked.answer,
    ranked.reviewed_at,
    ranked.note,
    ranked.review_id
from ranked
inner join {{ ref('stg_images') }} as images
    on ranked.image_id = images.image_id
where ranked.recency = 1
