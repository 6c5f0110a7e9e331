-- Figure 14a of the 2020 paper: class-wise mean apparent gender by AKC dog group (train);
-- higher = more apparent men next to the dogs. The violin points are the class rows below.
select
    census.annotator,
    groups.akc_group,
    census.wnid,
    groups.label,
    census.n_faces,
    round(census.mean_gender, 3) as class_mean_gender,
    round(summary.mean_class_mean_gender, 3) as group_mean_of_class_means,
    round(summary.median_class_mean_gender, 3) as group_median_of_class_means
from {{ ref('class_census') }} as census
inner join {{ ref('akc_dog_groups') }} as groups
    on census.wnid = groups.wnid
inner join {{ ref('dog_group_gender') }} as summary
    on census.annotator = summary.annotator and groups.akc_group = summary.akc_group
where census.split = 'train' and census.n_faces > 0
order by census.annotator, summary.median_class_mean_gender, census.mean_gender
