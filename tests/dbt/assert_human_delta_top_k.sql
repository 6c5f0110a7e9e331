-- At most var human_delta_top_k classes per face annotator are in the top k, and the
-- t-test groups never exceed the classes with a human delta.
with top_counts as (
    select
        annotator,
        count(*) filter (where is_top_k) as n_top,
        count(human_delta) as n_with_delta
    from {{ ref('class_human_delta') }}
    group by annotator
)

select
    ttest.classifier_annotator,
    ttest.face_annotator
from {{ ref('human_delta_ttest') }} as ttest
inner join top_counts
    on ttest.face_annotator = top_counts.annotator
where
    top_counts.n_top > {{ var('human_delta_top_k') }}
    or ttest.n_top > top_counts.n_top
    or ttest.n_top + ttest.n_rest > top_counts.n_with_delta
