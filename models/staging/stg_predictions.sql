-- raw.predictions, a classifier's top-5 ImageNet classes per image, cast to the contract's
-- types.
with source as (
    select * from {{ source('raw', 'predictions') }}
),

renamed as (
    select
        cast(run_id as varchar) as run_id,
        cast(image_id as varchar) as image_id,
        cast(rank as integer) as rank,
        cast(class_index as integer) as class_index,
        cast(wnid as varchar) as wnid,
        cast(prob as double) as prob
    from source
)

select * from renamed
