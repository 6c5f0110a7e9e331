-- Counts of annotator_evaluation add up: a group never matches more faces than it holds, the
-- group `all` never matches more than were predicted, the rates are their ratios, the gender
-- and age bucket groups partition (part of) the group `all`, and only `all` has precision.
with evaluation as (
    select * from {{ ref('annotator_evaluation') }}
),

totals as (
    select
        annotator,
        reference,
        group_kind,
        sum(n_reference) as n_reference,
        sum(n_matched) as n_matched
    from evaluation
    where group_kind <> 'all'
    group by annotator, reference, group_kind
)

select
    evaluation.annotator,
    evaluation.reference,
    evaluation.group_kind,
    evaluation.group_value,
    'counts or rates' as problem
from evaluation
where
    evaluation.n_matched > evaluation.n_reference
    or (evaluation.group_kind = 'all' and evaluation.n_matched > evaluation.n_predicted)
    or abs(evaluation.recall - evaluation.n_matched / evaluation.n_reference) > 1e-12
    or abs(evaluation.precision - evaluation.n_matched / evaluation.n_predicted) > 1e-12
    or (evaluation.group_kind <> 'all' and evaluation.precision is not null)
    or (evaluation.group_kind = 'all' and evaluation.n_predicted is null)

union all

select
    totals.annotator,
    totals.reference,
    totals.group_kind,
    null as group_value,
    'groups exceed all' as problem
from totals
inner join evaluation
    on
        totals.annotator = evaluation.annotator
        and totals.reference = evaluation.reference
        and evaluation.group_kind = 'all'
where
    totals.group_kind in ('gender', 'age_bucket', 'gender_age')
    and (totals.n_reference > evaluation.n_reference or totals.n_matched > evaluation.n_matched)
