-- Figure 14b of the 2020 paper: gender skewness of the apparent persons next to the 16
-- musical-instrument classes of the figure (instrument_gender_skew, var instrument_set
-- paper), train. The paper CITES cello, oboe, flute and violin as feminine and drum, banjo,
-- trombone, trumpet (cornet) and sax as masculine stereotypes (column stereotype); it FOUND
-- harp, cello, oboe, flute and violin most pro-women.
select
    annotator,
    dataset,
    wnid,
    label,
    stereotype,
    n_faces,
    round(gender_skewness, 3) as gender_skewness,
    round(mean_gender, 3) as mean_gender
from {{ ref('instrument_gender_skew') }}
where in_paper
order by annotator, dataset, gender_skewness nulls last
