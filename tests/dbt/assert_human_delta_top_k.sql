-- At most var human_delta_top_k classes per face annotator and dataset are in the top k;
-- the t-test's top group never exceeds them, and top + rest is the whole general population:
-- every val class of the dataset with a top-5 accuracy for the classifier (Appendix B.6).
with top_counts as (
    select
        annotator,
        dataset,
        count(*) filter (where is_top_k) as n_top
    from {{ ref('class_human_delta') }}
    group by annotator, dataset
),

val_classes as (
    select
        annotator,
        dataset,
        count(*) as n_classes
    from {{ ref('class_accuracy') }}
    where split = 'val' and top5 is not null
    group by annotator, dataset
)

select
    ttest.classifier_annotator,
    ttest.face_annotator,
    ttest.dataset
from {{ ref('human_delta_ttest') }} as ttest
inner join top_counts
    on ttest.face_annotator = top_counts.annotator and ttest.dataset = top_counts.dataset
left join val_classes
    on ttest.classifier_annotator = val_classes.annotator and ttest.dataset = val_classes.dataset
where
    top_counts.n_top > {{ var('human_delta_top_k') }}
    or ttest.n_top > top_counts.n_top
    or ttest.n_top + ttest.n_rest != coalesce(val_classes.n_classes, 0)
