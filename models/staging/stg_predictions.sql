select
    run_id,
    image_id,
    rank,
    class_index,
    wnid,
    prob
from {{ source('raw', 'predictions') }}
