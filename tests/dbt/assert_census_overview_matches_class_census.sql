-- census_overview (computed from the intermediate models) equals the sums of class_census.
with summed as (
    select
        annotator,
        dataset,
        split,
        sum(n_images) as n_images,
        sum(n_images_with_faces) as n_images_with_faces,
        sum(n_faces) as n_faces,
        sum(n_women) as n_women,
        sum(n_men) as n_men
    from {{ ref('class_census') }}
    group by annotator, dataset, split
)

select
    coalesce(summed.annotator, overview.annotator) as annotator,
    coalesce(summed.dataset, overview.dataset) as dataset,
    coalesce(summed.split, overview.split) as split
from summed
full outer join {{ ref('census_overview') }} as overview
    on
        summed.annotator = overview.annotator
        and summed.dataset = overview.dataset
        and summed.split = overview.split
where
    summed.annotator is null
    or overview.annotator is null
    or summed.n_images != overview.n_images
    or summed.n_images_with_faces != overview.n_images_with_faces
    or summed.n_faces != overview.n_faces
    or summed.n_women != overview.n_women
    or summed.n_men != overview.n_men
