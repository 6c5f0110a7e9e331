-- Images each face annotator processed ok, per class and split (the denominator of eta).
select
    results.annotator,
    results.wnid,
    results.split,
    count(*) as n_images
from {{ ref('int_image_results') }} as results
where results.stage = 'faces'
group by results.annotator, results.wnid, results.split
