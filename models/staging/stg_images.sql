-- raw.images, one row per image of a dataset, cast to the contract's types.
with source as (
    select * from {{ source('raw', 'images') }}
),

renamed as (
    select
        cast(image_id as varchar) as image_id,
        cast(dataset as varchar) as dataset,
        cast(split as varchar) as split,
        cast(wnid as varchar) as wnid,
        cast(rel_path as varchar) as rel_path,
        cast(file_bytes as bigint) as file_bytes,
        cast(sha256 as varchar) as sha256,
        cast(width as integer) as width,
        cast(height as integer) as height,
        cast(decode_error as varchar) as decode_error
    from source
)

select * from renamed
