-- raw.captions, one row per image of a captioned dataset (webdataset, Parquet), cast to the contract's types.
with source as (
    select * from {{ source('raw', 'captions') }}
),

renamed as (
    select
        cast(image_id as varchar) as image_id,
        cast(dataset as varchar) as dataset,
        cast(caption as varchar) as caption,
        cast(meta as varchar) as meta
    from source
)

select * from renamed
