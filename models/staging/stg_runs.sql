select
    run_id,
    stage,
    annotator,
    model_digest,
    params,
    dataset,
    started_at,
    finished_at,
    status
from {{ source('raw', 'runs') }}
