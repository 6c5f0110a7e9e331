-- The consensus of each reviewed item, item = (image_id, annotator, face_idx, question): the
-- majority answer, its share of the item's labels, and who gave it when. A tie lists every
-- tied answer, sorted and joined by '|' (e.g. 'no|yes'), flagged is_tie, with the reviewers
-- and times of all of them: neither side is picked over the other.
with labels as (
    select * from {{ ref('int_review_labels') }}
),

answer_counts as (
    select
        dataset,
        image_id,
        annotator,
        face_idx,
        question,
        answer,
        count(*) as n_answer
    from labels
    group by dataset, image_id, annotator, face_idx, question, answer
),

ranked as (
    select
        *,
        sum(n_answer) over item as n_labels,
        count(*) over item as n_answers,
        max(n_answer) over item as top_count
    from answer_counts
    window item as (partition by dataset, image_id, annotator, face_idx, question)
),

-- every answer with the most labels: one, or several on a tie
top_answers as (
    select * from ranked
    where n_answer = top_count
)

select
    labels.dataset,
    labels.image_id,
    any_value(labels.rel_path) as rel_path,
    any_value(labels.split) as split,
    any_value(labels.wnid) as wnid,
    labels.annotator,
    labels.face_idx,
    labels.question,
    string_agg(distinct labels.answer, '|' order by labels.answer) as answer,
    any_value(top_answers.n_answer) / any_value(top_answers.n_labels) as share,
    cast(any_value(top_answers.n_labels) as bigint) as n_labels,
    cast(any_value(top_answers.n_answers) as bigint) as n_answers,
    count(distinct labels.answer) > 1 as is_tie,
    string_agg(labels.reviewer, ', ' order by labels.reviewer) as reviewers,
    min(labels.reviewed_at) as first_reviewed_at,
    max(labels.reviewed_at) as last_reviewed_at
from labels
inner join top_answers
    on
        labels.dataset = top_answers.dataset
        and labels.image_id = top_answers.image_id
        and labels.question = top_answers.question
        and labels.answer = top_answers.answer
        and labels.annotator is not distinct from top_answers.annotator
        and labels.face_idx is not distinct from top_answers.face_idx
group by labels.dataset, labels.image_id, labels.annotator, labels.face_idx, labels.question
