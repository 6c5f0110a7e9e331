-- Table 4 of the 2020 paper: images with persons (n), persons (N), women and men, per
-- face annotator, dataset and split. Computed from the intermediate models, independently of
-- class_census (a singular test checks that both agree).
with class_images as (
    {{ class_images(['annotator', 'dataset', 'split']) }}
),

face_totals as (
    select
        annotator,
        dataset,
        split,
        count(distinct image_id) as n_images_with_faces,
        count(*) as n_faces,
        count(*) filter (where gender = 'female') as n_women,
        count(*) filter (where gender = 'male') as n_men,
        avg(age) as mean_age,
        avg(age) filter (where gender = 'female') as mean_age_women,
        avg(age) filter (where gender = 'male') as mean_age_men
    from {{ ref('int_census_faces') }}
    group by annotator, dataset, split
)

select
    class_images.annotator,
    class_images.dataset,
    class_images.split,
    class_images.n_images,
    coalesce(face_totals.n_images_with_faces, 0) as n_images_with_faces,
    coalesce(face_totals.n_faces, 0) as n_faces,
    coalesce(face_totals.n_women, 0) as n_women,
    coalesce(face_totals.n_men, 0) as n_men,
    coalesce(face_totals.n_images_with_faces, 0) / class_images.n_images as share_images_with_faces,
    face_totals.mean_age,
    face_totals.mean_age_women,
    face_totals.mean_age_men
from class_images
left join face_totals
    on
        class_images.annotator = face_totals.annotator
        and class_images.dataset = face_totals.dataset
        and class_images.split = face_totals.split
