select
    run_id,
    image_id,
    nsfw_score,
    probs
from {{ source('raw', 'nsfw') }}
