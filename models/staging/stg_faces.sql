-- raw.faces, one row per detected face at every detector score, cast to the contract's
-- types (the census keeps det_score >= var face_min_score in int_kept_faces).
with source as (
    select * from {{ source('raw', 'faces') }}
),

renamed as (
    select
        cast(run_id as varchar) as run_id,
        cast(image_id as varchar) as image_id,
        cast(face_idx as integer) as face_idx,
        cast(det_score as double) as det_score,
        cast(x1 as double) as x1,
        cast(y1 as double) as y1,
        cast(x2 as double) as x2,
        cast(y2 as double) as y2,
        cast(age as double) as age,
        cast(gender_score as double) as gender_score
    from source
)

select * from renamed
