-- Figure 14b of the 2020 paper: gender skewness of the apparent persons next to musical
-- instruments (train); the paper found harp, cello, oboe, flute and violin most pro-women and
-- drum, banjo, trombone, trumpet (cornet) and sax most male-leaning.
select
    annotator,
    wnid,
    label,
    stereotype,
    n_faces,
    round(gender_skewness, 3) as gender_skewness,
    round(mean_gender, 3) as mean_gender
from {{ ref('instrument_gender_skew') }}
order by annotator, gender_skewness nulls last
