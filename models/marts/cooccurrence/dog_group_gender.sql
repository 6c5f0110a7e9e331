-- Appendix B.3 / Figure 14a of the 2020 paper: class-wise mean apparent gender of the
-- persons co-occurring with dogs, per face annotator, dataset and dog group (each dataset's
-- audit split, int_audit_splits: train; classes with at least one kept face). var
-- dog_grouping picks the seed column: `akc` (akc_group, today's AKC groups) or `paper`
-- (paper_group, the groups the paper's notebook assigned, which reproduce its Figure 14a
-- counts).
with dog_classes as (
    select
        census.annotator,
        census.dataset,
        census.wnid,
        case '{{ var("dog_grouping") }}'
            when 'akc' then groups.akc_group
            when 'paper' then groups.paper_group
            else error('var dog_grouping must be akc or paper')
        end as akc_group,
        census.n_faces,
        census.n_women,
        census.n_men,
        census.mean_gender
    from {{ ref('class_census') }} as census
    inner join {{ ref('akc_dog_groups') }} as groups
        on census.wnid = groups.wnid
    inner join {{ ref('int_audit_splits') }} as audit
        on census.dataset = audit.dataset and census.split = audit.split
    where census.n_faces > 0
)

select
    dog_classes.annotator,
    dog_classes.dataset,
    '{{ var("dog_grouping") }}' as grouping,
    dog_classes.akc_group,
    count(*) as n_classes,
    sum(dog_classes.n_faces)::bigint as n_faces,
    sum(dog_classes.n_women)::bigint as n_women,
    sum(dog_classes.n_men)::bigint as n_men,
    {{ safe_divide('100 * sum(dog_classes.n_women)', 'sum(dog_classes.n_women) + sum(dog_classes.n_men)') }}
        as pct_female,
    avg(dog_classes.mean_gender) as mean_class_mean_gender,
    median(dog_classes.mean_gender) as median_class_mean_gender,
    stddev_samp(dog_classes.mean_gender) as std_class_mean_gender,
    min(dog_classes.mean_gender) as min_class_mean_gender,
    max(dog_classes.mean_gender) as max_class_mean_gender
from dog_classes
group by dog_classes.annotator, dog_classes.dataset, dog_classes.akc_group
