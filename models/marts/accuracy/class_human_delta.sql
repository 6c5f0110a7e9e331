-- Appendix B.6 of the 2020 paper: human delta = persons in train / persons in val of a
-- class (kept faces of the face annotator) per dataset. NULL where the class has no person
-- in val (or was not processed in one of the splits); ranked by human delta within the face
-- annotator and dataset, ties by wnid.
with persons as (
    select
        annotator,
        dataset,
        wnid,
        cast(sum(n_images) filter (where split = 'train') as bigint) as n_images_train,
        cast(sum(n_images) filter (where split = 'val') as bigint) as n_images_val,
        cast(sum(n_faces) filter (where split = 'train') as bigint) as persons_train,
        cast(sum(n_faces) filter (where split = 'val') as bigint) as persons_val
    from {{ ref('class_census') }}
    where split in ('train', 'val')
    group by annotator, dataset, wnid
),

deltas as (
    select
        annotator,
        dataset,
        wnid,
        n_images_train,
        n_images_val,
        persons_train,
        persons_val,
        {{ safe_divide('persons_train', 'persons_val') }} as human_delta
    from persons
),

ranked as (
    select
        annotator,
        dataset,
        wnid,
        row_number() over (
            partition by annotator, dataset order by human_delta desc, wnid asc
        ) as rank_human_delta
    from deltas
    where human_delta is not null
)

select
    deltas.annotator,
    deltas.dataset,
    deltas.wnid,
    deltas.n_images_train,
    deltas.n_images_val,
    deltas.persons_train,
    deltas.persons_val,
    deltas.human_delta,
    ranked.rank_human_delta,
    coalesce(ranked.rank_human_delta <= {{ var('human_delta_top_k') }}, false) as is_top_k
from deltas
left join ranked
    on
        deltas.annotator = ranked.annotator
        and deltas.dataset = ranked.dataset
        and deltas.wnid = ranked.wnid
