-- Per annotator and dataset, pct_of_faces sums to 100 and n_faces to the classified faces.
select
    annotator,
    dataset,
    sum(pct_of_faces) as total_pct
from {{ ref('demographics_age_gender') }}
group by annotator, dataset
having abs(sum(pct_of_faces) - 100) > 1e-6
