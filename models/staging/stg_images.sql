select
    image_id,
    dataset,
    split,
    wnid,
    rel_path,
    file_bytes,
    sha256,
    width,
    height,
    decode_error
from {{ source('raw', 'images') }}
