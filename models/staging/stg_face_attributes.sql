-- raw.face_attributes, one row per face and group attribute (e.g. skin_type of a reference
-- label), cast to the contract's types.
with source as (
    select * from {{ source('raw', 'face_attributes') }}
),

renamed as (
    select
        cast(run_id as varchar) as run_id,
        cast(image_id as varchar) as image_id,
        cast(face_idx as integer) as face_idx,
        cast(attribute as varchar) as attribute,
        cast(value as varchar) as value
    from source
)

select * from renamed
