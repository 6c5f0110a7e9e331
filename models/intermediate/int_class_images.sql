-- Images each face annotator processed ok, per dataset, class and split (the denominator of
-- eta). Two datasets that share wnid and split names stay apart.
select
    results.annotator,
    results.dataset,
    results.wnid,
    results.split,
    count(*) as n_images
from {{ ref('int_image_results') }} as results
where results.stage = 'faces'
group by results.annotator, results.dataset, results.wnid, results.split
