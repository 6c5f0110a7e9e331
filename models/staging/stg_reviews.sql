-- raw.reviews, one row per answer of a reviewer to a question about an image or a face box,
-- cast to the contract's types.
with source as (
    select * from {{ source('raw', 'reviews') }}
),

renamed as (
    select
        cast(review_id as varchar) as review_id,
        cast(dataset as varchar) as dataset,
        cast(reviewer as varchar) as reviewer,
        cast(image_id as varchar) as image_id,
        cast(annotator as varchar) as annotator,
        cast(face_idx as integer) as face_idx,
        cast(question as varchar) as question,
        cast(answer as varchar) as answer,
        cast(reviewed_at as timestamp) as reviewed_at,
        cast(note as varchar) as note
    from source
)

select * from renamed
