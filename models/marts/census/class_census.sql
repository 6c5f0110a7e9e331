-- Class-level census (Appendix B.1 of the 2020 paper), one row per face annotator,
-- dataset, class and split the annotator processed, zero-face classes included. The dataset
-- is part of the grain: two datasets sharing wnid and split names never pool.
with class_images as (
    {{ class_images() }}
),

kept_faces as (
    select
        annotator,
        dataset,
        wnid,
        split,
        image_id,
        age,
        gender_score,
        gender
    from {{ ref('int_census_faces') }}
),

face_stats as (
    select
        kept_faces.annotator,
        kept_faces.dataset,
        kept_faces.wnid,
        kept_faces.split,
        count(distinct kept_faces.image_id) as n_images_with_faces,
        count(*) as n_faces,
        avg(kept_faces.age) as mean_age,
        stddev_samp(kept_faces.age) as std_age,
        avg(kept_faces.gender_score) as mean_gender,
        count(*) filter (where kept_faces.gender = 'female') as n_women,
        count(*) filter (where kept_faces.gender = 'male') as n_men,
        avg(kept_faces.age) filter (where kept_faces.gender = 'female') as mean_age_women,
        stddev_samp(kept_faces.age) filter (where kept_faces.gender = 'female') as std_age_women,
        avg(kept_faces.age) filter (where kept_faces.gender = 'male') as mean_age_men,
        stddev_samp(kept_faces.age) filter (where kept_faces.gender = 'male') as std_age_men,
        min(kept_faces.age) as min_age,
        max(kept_faces.age) as max_age
    from kept_faces
    group by kept_faces.annotator, kept_faces.dataset, kept_faces.wnid, kept_faces.split
),

-- Central moments around the class mean (numerically stable, as scipy.stats.skew).
gender_moments as (
    select
        kept_faces.annotator,
        kept_faces.dataset,
        kept_faces.wnid,
        kept_faces.split,
        avg(power(kept_faces.gender_score - face_stats.mean_gender, 2)) as m2,
        avg(power(kept_faces.gender_score - face_stats.mean_gender, 3)) as m3
    from kept_faces
    inner join face_stats
        on
            kept_faces.annotator = face_stats.annotator
            and kept_faces.dataset = face_stats.dataset
            and kept_faces.wnid = face_stats.wnid
            and kept_faces.split = face_stats.split
    where kept_faces.gender_score is not null
    group by kept_faces.annotator, kept_faces.dataset, kept_faces.wnid, kept_faces.split
)

select
    class_images.annotator,
    class_images.dataset,
    class_images.wnid,
    class_images.split,
    class_images.n_images,
    coalesce(face_stats.n_images_with_faces, 0) as n_images_with_faces,
    coalesce(face_stats.n_faces, 0) as n_faces,
    coalesce(face_stats.n_images_with_faces, 0) / class_images.n_images as eta,
    -- 95 % Wilson score interval of eta over the images processed ok (macros/wilson_interval.sql)
    {{ wilson_interval('coalesce(face_stats.n_images_with_faces, 0)', 'class_images.n_images', 'lo') }} as eta_lo,
    {{ wilson_interval('coalesce(face_stats.n_images_with_faces, 0)', 'class_images.n_images', 'hi') }} as eta_hi,
    face_stats.mean_age,
    face_stats.std_age,
    -- Population skewness; NULL without faces or where the variance is (numerically) zero,
    -- with the same zero test as scipy.stats.skew.
    case
        when gender_moments.m2 <= power(1e-15 * face_stats.mean_gender, 2) then null
        else gender_moments.m3 / power(gender_moments.m2, 1.5)
    end as gender_skewness,
    face_stats.mean_gender,
    coalesce(face_stats.n_women, 0) as n_women,
    coalesce(face_stats.n_men, 0) as n_men,
    face_stats.mean_age_women,
    face_stats.std_age_women,
    face_stats.mean_age_men,
    face_stats.std_age_men,
    face_stats.min_age,
    face_stats.max_age
from class_images
left join face_stats
    on
        class_images.annotator = face_stats.annotator
        and class_images.dataset = face_stats.dataset
        and class_images.wnid = face_stats.wnid
        and class_images.split = face_stats.split
left join gender_moments
    on
        class_images.annotator = gender_moments.annotator
        and class_images.dataset = gender_moments.dataset
        and class_images.wnid = gender_moments.wnid
        and class_images.split = gender_moments.split
