-- The consensus of each reviewed item, item = (image_id, annotator, face_idx, question): the
-- majority answer (ties: the first answer in alphabetical order, flagged is_tie), its share
-- of the item's labels, and who gave it when.
with answer_counts as (
    select
        dataset,
        image_id,
        annotator,
        face_idx,
        question,
        answer,
        any_value(rel_path) as rel_path,
        any_value(split) as split,
        any_value(wnid) as wnid,
        count(*) as n_answer,
        string_agg(reviewer, ', ' order by reviewer) as reviewers,
        min(reviewed_at) as first_reviewed_at,
        max(reviewed_at) as last_reviewed_at
    from {{ ref('int_review_labels') }}
    group by dataset, image_id, annotator, face_idx, question, answer
),

ranked as (
    select
        *,
        sum(n_answer) over item as n_labels,
        count(*) over item as n_answers,
        max(n_answer) over item as top_count,
        row_number() over (item order by n_answer desc, answer asc) as answer_rank
    from answer_counts
    window item as (partition by dataset, image_id, annotator, face_idx, question)
),

ties as (
    select
        *,
        sum(case when n_answer = top_count then 1 else 0 end) over (
            partition by dataset, image_id, annotator, face_idx, question
        ) as n_top_answers
    from ranked
)

select
    dataset,
    image_id,
    rel_path,
    split,
    wnid,
    annotator,
    face_idx,
    question,
    answer,
    n_answer / n_labels as share,
    cast(n_labels as bigint) as n_labels,
    cast(n_answers as bigint) as n_answers,
    n_top_answers > 1 as is_tie,
    reviewers,
    first_reviewed_at,
    last_reviewed_at
from ties
where answer_rank = 1
