-- The share of images with a kept face per supercategory of ImageNet classes (seed
-- imagenet_supercategories, WordNet 3.0 hypernyms), per face model and dataset, beside the
-- share Yang et al. 2022 published for the same group (seed yang2022_table2, their Table 2).
-- Reference annotators are left out (int_class_images and int_census_faces): census only.
with classes as (
    select
        annotator,
        dataset,
        wnid,
        sum(n_images) as n_images
    from {{ ref('int_class_images') }}
    group by annotator, dataset, wnid
),

faces as (
    select
        annotator,
        dataset,
        wnid,
        count(distinct image_id) as n_images_with_faces
    from {{ ref('int_census_faces') }}
    group by annotator, dataset, wnid
),

groups as (
    select
        classes.annotator,
        classes.dataset,
        supercategories.supercategory,
        count(*) as n_classes,
        sum(classes.n_images) as n_images,
        coalesce(sum(faces.n_images_with_faces), 0) as n_images_with_faces
    from classes
    inner join {{ ref('imagenet_supercategories') }} as supercategories
        on classes.wnid = supercategories.wnid
    left join faces
        on
            classes.annotator = faces.annotator
            and classes.dataset = faces.dataset
            and classes.wnid = faces.wnid
    group by classes.annotator, classes.dataset, supercategories.supercategory
)

select
    groups.annotator,
    groups.dataset,
    groups.supercategory,
    groups.n_classes,
    groups.n_images,
    groups.n_images_with_faces,
    {{ safe_divide('groups.n_images_with_faces', 'groups.n_images') }} as share,
    -- 95 % Wilson score interval (macros/wilson_interval.sql, z = 1.959964)
    {{ wilson_interval('groups.n_images_with_faces', 'groups.n_images', 'lo') }} as share_lo,
    {{ wilson_interval('groups.n_images_with_faces', 'groups.n_images', 'hi') }} as share_hi,
    published.published_pct / 100 as published_share
from groups
left join {{ ref('yang2022_table2') }} as published
    on groups.supercategory = published.supercategory
