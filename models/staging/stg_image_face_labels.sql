-- raw.image_face_labels, one row per image of an image-level reference run (does the image
-- show a real human face?), cast to the contract's types.
with source as (
    select * from {{ source('raw', 'image_face_labels') }}
),

renamed as (
    select
        cast(run_id as varchar) as run_id,
        cast(image_id as varchar) as image_id,
        cast(label as varchar) as label,
        cast(n_faces as integer) as n_faces,
        cast(note as varchar) as note
    from source
)

select * from renamed
