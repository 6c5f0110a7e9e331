-- Figure 14a of the 2020 paper: class-wise mean apparent gender by dog group, with the groups
-- the paper's own notebook assigned (seed column paper_group: Herding 11, Hound 20,
-- Non-Sporting 11, Sporting 18, Terrier 20, Toy 16, Unknown 4, Working 20). Higher = more
-- apparent men next to the dogs. The violin points are the class rows below; the mart
-- dog_group_gender gives the same summary with var dog_grouping (akc by default) for a dataset
-- with a train split or a single split (it reads one split per dataset: int_audit_splits).
-- Which rows: a dataset's train split when it has one (as the paper), else each of its splits
-- on its own (folder, webdataset and Parquet datasets have the one split `all`); column split
-- names it. Splits are never pooled.
with train_datasets as (
    select distinct dataset
    from {{ ref('class_census') }}
    where split = 'train'
),

dog_classes as (
    select
        census.annotator,
        census.dataset,
        census.split,
        groups.paper_group,
        census.wnid,
        groups.label,
        census.n_faces,
        census.mean_gender
    from {{ ref('class_census') }} as census
    inner join {{ ref('akc_dog_groups') }} as groups
        on census.wnid = groups.wnid
    left join train_datasets
        on census.dataset = train_datasets.dataset
    where
        census.n_faces > 0
        and (census.split = 'train' or train_datasets.dataset is null)
)

select
    annotator,
    dataset,
    split,
    paper_group,
    wnid,
    label,
    n_faces,
    round(mean_gender, 3) as class_mean_gender,
    round(avg(mean_gender) over (partition by annotator, dataset, split, paper_group), 3)
        as group_mean_of_class_means,
    round(median(mean_gender) over (partition by annotator, dataset, split, paper_group), 3)
        as group_median_of_class_means
from dog_classes
order by
    annotator,
    dataset,
    split,
    median(mean_gender) over (partition by annotator, dataset, split, paper_group),
    mean_gender
