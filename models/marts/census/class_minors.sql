-- Beyond the papers (B.4 motivates it): kept faces whose apparent age is below
-- var minor_age (18) and below var infant_age (5), per face annotator, dataset, class and
-- split.
with class_images as (
    {{ class_images() }}
),

minors as (
    select
        annotator,
        dataset,
        wnid,
        split,
        count(*) as n_faces,
        count(age) as n_faces_with_age,
        count(*) filter (where age < {{ var('minor_age') }}) as n_minors,
        count(*) filter (where age < {{ var('infant_age') }}) as n_infants,
        count(distinct image_id) filter (where age < {{ var('minor_age') }}) as n_images_with_minors,
        count(distinct image_id) filter (where age < {{ var('infant_age') }}) as n_images_with_infants
    from {{ ref('int_census_faces') }}
    group by annotator, dataset, wnid, split
),

child_classes as (
    select distinct wnid
    from {{ ref('child_classes') }}
)

select
    class_images.annotator,
    class_images.dataset,
    class_images.wnid,
    class_images.split,
    class_images.n_images,
    coalesce(minors.n_faces, 0) as n_faces,
    coalesce(minors.n_faces_with_age, 0) as n_faces_with_age,
    coalesce(minors.n_minors, 0) as n_minors,
    coalesce(minors.n_infants, 0) as n_infants,
    {{ safe_divide('minors.n_minors', 'minors.n_faces_with_age') }} as share_minors,
    {{ safe_divide('minors.n_infants', 'minors.n_faces_with_age') }} as share_infants,
    coalesce(minors.n_images_with_minors, 0) as n_images_with_minors,
    coalesce(minors.n_images_with_infants, 0) as n_images_with_infants,
    coalesce(minors.n_images_with_minors, 0) / class_images.n_images as share_images_with_minors,
    child_classes.wnid is not null as is_paper_child_class
from class_images
left join minors
    on
        class_images.annotator = minors.annotator
        and class_images.dataset = minors.dataset
        and class_images.wnid = minors.wnid
        and class_images.split = minors.split
left join child_classes
    on class_images.wnid = child_classes.wnid
