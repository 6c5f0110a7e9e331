-- raw.nsfw, one row per image an NSFW model scored, cast to the contract's types; a
-- non-finite nsfw_score (possible only in a warehouse older than the schema's CHECK
-- constraints) becomes NULL, an unscored image.
with source as (
    select * from {{ source('raw', 'nsfw') }}
),

renamed as (
    select
        cast(run_id as varchar) as run_id,
        cast(image_id as varchar) as image_id,
        {{ finite_or_null('nsfw_score') }} as nsfw_score,
        cast(probs as json) as probs
    from source
)

select * from renamed
