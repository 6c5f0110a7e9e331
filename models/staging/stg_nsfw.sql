-- raw.nsfw, one row per image an NSFW model scored, cast to the contract's types.
with source as (
    select * from {{ source('raw', 'nsfw') }}
),

renamed as (
    select
        cast(run_id as varchar) as run_id,
        cast(image_id as varchar) as image_id,
        cast(nsfw_score as double) as nsfw_score,
        cast(probs as json) as probs
    from source
)

select * from renamed
