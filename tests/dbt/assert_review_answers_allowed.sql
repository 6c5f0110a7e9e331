-- Every answer in raw.reviews is one of its question's answers (ingest/review/questions.py):
-- nsfw_category takes the 2020 paper's Table 6 categories (seed hand_survey_2020) or not_nsfw.
with allowed as (
    select distinct
        'nsfw_category' as question,
        category as answer
    from {{ ref('hand_survey_2020') }}
    union all
    select
        answers.question,
        answers.answer
    from (
        values
        ('nsfw_category', 'not_nsfw'),
        ('is_face', 'yes'),
        ('is_face', 'no'),
        ('apparent_minor', 'yes'),
        ('apparent_minor', 'no'),
        ('apparent_minor', 'unsure')
    ) as answers (question, answer)
)

select reviews.*
from {{ ref('stg_reviews') }} as reviews
left join allowed
    on reviews.question = allowed.question and reviews.answer = allowed.answer
where allowed.answer is null
