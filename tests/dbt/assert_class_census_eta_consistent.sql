-- n_images_with_faces <= n_images, n_images_with_faces <= n_faces, eta is their ratio,
-- and a class without faces has no face statistics.
select
    annotator,
    dataset,
    wnid,
    split,
    n_images,
    n_images_with_faces,
    n_faces,
    eta
from {{ ref('class_census') }}
where
    n_images_with_faces > n_images
    or n_images_with_faces > n_faces
    or (n_faces > 0 and n_images_with_faces = 0)
    or abs(eta - n_images_with_faces / n_images) > 1e-12
    or (n_faces = 0 and (mean_gender is not null or mean_age is not null or gender_skewness is not null))
    or (n_faces < 2 and std_age is not null)
    or min_age > max_age
