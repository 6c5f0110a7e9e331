-- Appendix B.3 / Figure 14b of the 2020 paper: gender skewness of the persons co-occurring
-- with musical instruments, per face annotator and instrument class (train split).
select
    census.annotator,
    census.wnid,
    instruments.label,
    instruments.stereotype,
    census.n_images,
    census.n_faces,
    census.gender_skewness,
    census.mean_gender,
    census.n_women,
    census.n_men
from {{ ref('class_census') }} as census
inner join {{ ref('instrument_stereotypes') }} as instruments
    on census.wnid = instruments.wnid
where census.split = 'train'
