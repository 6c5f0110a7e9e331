-- Every processed image with its run's provenance.
select
    image_runs.run_id,
    image_runs.image_id,
    runs.stage,
    runs.annotator,
    runs.dataset,
    runs.started_at as run_started_at,
    image_runs.status,
    image_runs.error
from {{ source('raw', 'image_runs') }} as image_runs
inner join {{ source('raw', 'runs') }} as runs
    on image_runs.run_id = runs.run_id
