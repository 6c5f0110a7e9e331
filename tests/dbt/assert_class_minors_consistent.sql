-- Infants are minors; minors are kept faces; class_minors covers class_census exactly.
select
    minors.annotator,
    minors.dataset,
    minors.wnid,
    minors.split
from {{ ref('class_minors') }} as minors
full outer join {{ ref('class_census') }} as census
    on
        minors.annotator = census.annotator
        and minors.dataset = census.dataset
        and minors.wnid = census.wnid
        and minors.split = census.split
where
    minors.annotator is null
    or census.annotator is null
    or minors.n_faces != census.n_faces
    or minors.n_infants > minors.n_minors
    or minors.n_minors > minors.n_faces_with_age
    or minors.n_images_with_infants > minors.n_images_with_minors
    or minors.n_images_with_minors > census.n_images_with_faces
