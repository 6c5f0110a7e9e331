-- Inter-reviewer agreement per dataset and question (datasets never pooled): Krippendorff's
-- alpha (nominal) over the items with at least two labels, item = (image_id, annotator, face_idx, question). With m_u labels of
-- item u, n_uc of them answer c, n = sum of m_u, n_c = sum over u of n_uc and
-- o_cc = sum over u of n_uc (n_uc - 1) / (m_u - 1) (the coincidence matrix's diagonal):
-- alpha = 1 - (n - 1) (n - sum_c o_cc) / (n^2 - sum_c n_c^2), NULL where only one answer
-- occurs (no expected disagreement). pct_agreement: agreeing pairs of labels of one item
-- among all such pairs, in percent.
with labels as (
    select
        dataset,
        question,
        image_id,
        annotator,
        face_idx,
        reviewer,
        answer,
        count(*) over (partition by dataset, question, image_id, annotator, face_idx) as m_u
    from {{ ref('int_review_labels') }}
),

cells as (
    select
        dataset,
        question,
        image_id,
        annotator,
        face_idx,
        answer,
        any_value(m_u) as m_u,
        count(*) as n_uc
    from labels
    where m_u >= 2
    group by dataset, question, image_id, annotator, face_idx, answer
),

observed as (
    select
        dataset,
        question,
        cast(sum(n_uc) as double) as n,
        sum(n_uc * (n_uc - 1) / (m_u - 1)) as o_diag,
        sum(n_uc * (n_uc - 1)) as agreeing_pairs
    from cells
    group by dataset, question
),

pairable_items as (
    select
        dataset,
        question,
        image_id,
        annotator,
        face_idx,
        any_value(m_u) as m_u
    from cells
    group by dataset, question, image_id, annotator, face_idx
),

pairs as (
    select
        dataset,
        question,
        count(*) as n_items,
        sum(m_u * (m_u - 1)) as all_pairs
    from pairable_items
    group by dataset, question
),

value_totals as (
    select
        dataset,
        question,
        answer,
        cast(sum(n_uc) as double) as n_c
    from cells
    group by dataset, question, answer
),

expected as (
    select
        dataset,
        question,
        sum(n_c * n_c) as sum_n_c2
    from value_totals
    group by dataset, question
),

totals as (
    select
        dataset,
        question,
        count(distinct reviewer) filter (where m_u >= 2) as n_reviewers,
        count(*) filter (where m_u >= 2) as n_labels,
        count(distinct reviewer) as n_reviewers_all,
        count(*) as n_labels_all,
        -- an item with one label is one row of labels
        count(*) filter (where m_u = 1) as n_items_one_label
    from labels
    group by dataset, question
)

select
    totals.dataset,
    totals.question,
    coalesce(pairs.n_items, 0) as n_items,
    totals.n_reviewers,
    totals.n_labels,
    case
        when observed.n * observed.n - expected.sum_n_c2 > 0
            then
                1 - (observed.n - 1) * (observed.n - observed.o_diag)
                / (observed.n * observed.n - expected.sum_n_c2)
    end as krippendorff_alpha,
    {{ safe_divide('100.0 * observed.agreeing_pairs', 'pairs.all_pairs') }} as pct_agreement,
    totals.n_items_one_label,
    totals.n_reviewers_all,
    totals.n_labels_all
from totals
left join observed
    on
        totals.dataset is not distinct from observed.dataset
        and totals.question = observed.question
left join pairs
    on
        totals.dataset is not distinct from pairs.dataset
        and totals.question = pairs.question
left join expected
    on
        totals.dataset is not distinct from expected.dataset
        and totals.question = expected.question
