-- The 2020 paper's hand survey (Table 6) next to our class-wise train NSFW means: the
-- paper's mean_nsfw_train against this warehouse's, per NSFW model and surveyed class.
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
    select distinct annotator
    from {{ ref('class_nsfw') }}
),

train_nsfw as (
    select
        annotator,
        wnid,
        n_images,
        mean_nsfw
    from {{ ref('class_nsfw') }}
    where split = 'train'
)

select
    nsfw_models.annotator,
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
    train_nsfw.mean_nsfw - survey.paper_mean_nsfw_train as diff_mean_nsfw_train
from nsfw_models
cross join survey
left join train_nsfw
    on
        nsfw_models.annotator = train_nsfw.annotator
        and survey.wnid = train_nsfw.wnid
