-- top-1 hits are top-5 hits.
select
    annotator,
    wnid,
    split,
    top1,
    top5
from {{ ref('class_accuracy') }}
where top1 > top5
