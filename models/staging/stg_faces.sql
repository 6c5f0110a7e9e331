select
    run_id,
    image_id,
    face_idx,
    det_score,
    x1,
    y1,
    x2,
    y2,
    age,
    gender_score
from {{ source('raw', 'faces') }}
