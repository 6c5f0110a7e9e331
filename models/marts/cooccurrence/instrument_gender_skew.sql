-- Appendix B.3 / Figure 14b of the 2020 paper: gender skewness of the persons co-occurring
-- with musical instruments, per face annotator, dataset and instrument class (each dataset's
-- audit split, int_audit_splits: train).
-- var instrument_set: `paper` (default) keeps the 16 classes of the paper's figure
-- (seed column in_paper), `all` every instrument class of the seed.
select
    census.annotator,
    census.dataset,
    census.wnid,
    instruments.label,
    instruments.stereotype,
    instruments.in_paper,
    census.n_images,
    census.n_faces,
    census.gender_skewness,
    census.mean_gender,
    census.n_women,
    census.n_men
from {{ ref('class_census') }} as census
inner join {{ ref('instrument_stereotypes') }} as instruments
    on census.wnid = instruments.wnid
inner join {{ ref('int_audit_splits') }} as audit
    on census.dataset = audit.dataset and census.split = audit.split
where
    case '{{ var("instrument_set") }}'
        when 'paper' then instruments.in_paper
        when 'all' then true
        else error('var instrument_set must be paper or all')
    end
