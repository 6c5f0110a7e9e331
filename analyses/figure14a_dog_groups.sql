-- Figure 14a of the 2020 paper: class-wise mean apparent gender by dog group (train), with
-- the groups the paper's own notebook assigned (seed column paper_group: Herding 11, Hound
-- 20, Non-Sporting 11, Sporting 18, Terrier 20, Toy 16, Unknown 4, Working 20). Higher =
-- more apparent men next to the dogs. The violin points are the class rows below; the mart
-- dog_group_gender gives the same summary with var dog_grouping (akc by default).
with dog_classes as (
    select
        census.annotator,
        census.dataset,
        groups.paper_group,
        census.wnid,
        groups.label,
        census.n_faces,
        census.mean_gender
    from {{ ref('class_census') }} as census
    inner join {{ ref('akc_dog_groups') }} as groups
        on census.wnid = groups.wnid
    where census.split = 'train' and census.n_faces > 0
)

select
    annotator,
    dataset,
    paper_group,
    wnid,
    label,
    n_faces,
    round(mean_gender, 3) as class_mean_gender,
    round(avg(mean_gender) over (partition by annotator, dataset, paper_group), 3) as group_mean_of_class_means,
    round(median(mean_gender) over (partition by annotator, dataset, paper_group), 3)
        as group_median_of_class_means
from dog_classes
order by
    annotator,
    dataset,
    median(mean_gender) over (partition by annotator, dataset, paper_group),
    mean_gender
