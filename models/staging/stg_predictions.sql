-- raw.predictions, a classifier's top-5 ImageNet classes per image, cast to the contract's
-- types; a non-finite prob (only in a warehouse older than the schema's CHECK constraints)
-- becomes NULL.
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
        {{ finite_or_null('prob') }} as prob
    from source
)

select * from renamed
