-- Images each face model processed ok, per dataset, class and split (the denominator of eta).
-- Two datasets that share wnid and split names stay apart. Reference annotators (imported
-- ground truth) are no census annotator: they feed the evaluation marts only.
select
    results.annotator,
    results.dataset,
    results.wnid,
    results.split,
    count(*) as n_images
from {{ ref('int_image_results') }} as results
where results.stage = {{ stage('faces') }} and not {{ is_reference('results.annotator') }}
group by results.annotator, results.dataset, results.wnid, results.split
