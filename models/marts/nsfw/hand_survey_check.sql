-- The 2020 paper's hand survey (Table 6) next to our class-wise train NSFW means: the
-- paper's mean_nsfw_train against this warehouse's, per NSFW model, dataset and surveyed
-- class. It learns from human review: how many of the class's images reviewers labelled
-- (nsfw_category), how many of them they confirmed NSFW and in which category
-- (confirmed_flags), and, for the paper's own hand-labelled files found in the dataset (by
-- file name), how often the reviewers' confirmed category is the paper's.
with survey as (
    select
        wnid,
        any_value(label) as label,
        any_value(mean_nsfw_train) as paper_mean_nsfw_train,
        count(*) as n_hand_labelled,
        count(*) filter (where category = 'beach_voyeur') as n_beach_voyeur,
        count(*) filter (where category = 'exposed_private_parts') as n_exposed_private_parts,
        count(*) filter (where category = 'upskirt') as n_upskirt,
        count(*) filter (where category = 'verifiably_pornographic') as n_verifiably_pornographic
    from {{ ref('hand_survey_2020') }}
    group by wnid
),

nsfw_models as (
    select distinct
        annotator,
        dataset
    from {{ ref('class_nsfw') }}
),

train_nsfw as (
    select
        annotator,
        dataset,
        wnid,
        n_images,
        mean_nsfw
    from {{ ref('class_nsfw') }}
    where split = 'train'
),

reviewed as (
    select
        consensus.dataset,
        consensus.wnid,
        consensus.image_id,
        regexp_extract(consensus.rel_path, '[^/]+$') as file_name,
        flags.flag as confirmed_category
    from {{ ref('review_consensus') }} as consensus
    left join {{ ref('confirmed_flags') }} as flags
        on consensus.image_id = flags.image_id and flags.question = 'nsfw_category'
    where consensus.question = 'nsfw_category'
),

reviewed_classes as (
    select
        dataset,
        wnid,
        count(*) as n_reviewed,
        count(confirmed_category) as n_confirmed_nsfw,
        count(*) filter (where confirmed_category = 'beach_voyeur') as n_confirmed_beach_voyeur,
        count(*) filter (where confirmed_category = 'exposed_private_parts') as n_confirmed_exposed_private_parts,
        count(*) filter (where confirmed_category = 'upskirt') as n_confirmed_upskirt,
        count(*) filter (where confirmed_category = 'verifiably_pornographic') as n_confirmed_verifiably_pornographic
    from reviewed
    group by dataset, wnid
),

survey_reviewed as (
    select
        reviewed.dataset,
        reviewed.wnid,
        count(*) as n_survey_images_reviewed,
        count(*) filter (where reviewed.confirmed_category = files.category) as n_survey_category_agrees
    from reviewed
    inner join {{ ref('hand_survey_2020') }} as files
        on reviewed.wnid = files.wnid and reviewed.file_name = files.file_name
    group by reviewed.dataset, reviewed.wnid
)

select
    nsfw_models.annotator,
    nsfw_models.dataset,
    survey.wnid,
    survey.label,
    survey.n_hand_labelled,
    survey.n_beach_voyeur,
    survey.n_exposed_private_parts,
    survey.n_upskirt,
    survey.n_verifiably_pornographic,
    survey.paper_mean_nsfw_train,
    train_nsfw.mean_nsfw as mean_nsfw_train,
    train_nsfw.n_images as n_images_train,
    train_nsfw.mean_nsfw - survey.paper_mean_nsfw_train as diff_mean_nsfw_train,
    coalesce(reviewed_classes.n_reviewed, 0) as n_reviewed,
    coalesce(reviewed_classes.n_confirmed_nsfw, 0) as n_confirmed_nsfw,
    coalesce(reviewed_classes.n_confirmed_beach_voyeur, 0) as n_confirmed_beach_voyeur,
    coalesce(reviewed_classes.n_confirmed_exposed_private_parts, 0) as n_confirmed_exposed_private_parts,
    coalesce(reviewed_classes.n_confirmed_upskirt, 0) as n_confirmed_upskirt,
    coalesce(reviewed_classes.n_confirmed_verifiably_pornographic, 0) as n_confirmed_verifiably_pornographic,
    {{ safe_divide('reviewed_classes.n_confirmed_nsfw', 'reviewed_classes.n_reviewed') }} as share_confirmed_nsfw,
    coalesce(survey_reviewed.n_survey_images_reviewed, 0) as n_survey_images_reviewed,
    coalesce(survey_reviewed.n_survey_category_agrees, 0) as n_survey_category_agrees
from nsfw_models
cross join survey
left join train_nsfw
    on
        nsfw_models.annotator = train_nsfw.annotator
        and nsfw_models.dataset = train_nsfw.dataset
        and survey.wnid = train_nsfw.wnid
left join reviewed_classes
    on nsfw_models.dataset = reviewed_classes.dataset and survey.wnid = reviewed_classes.wnid
left join survey_reviewed
    on nsfw_models.dataset = survey_reviewed.dataset and survey.wnid = survey_reviewed.wnid
