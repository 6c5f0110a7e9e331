-- Reference annotators (imported ground truth, macro is_reference) feed the evaluation marts
-- only: no census, shortlist, agreement or review-queue mart lists one.
{%- set columns = [
    ('class_census', 'annotator'), ('census_overview', 'annotator'), ('demographics', 'annotator'),
    ('demographics_age_gender', 'annotator'), ('class_minors', 'annotator'),
    ('synset_gender_rank', 'annotator'), ('annotator_agreement', 'annotator_a'),
    ('annotator_agreement', 'annotator_b'), ('nsfw_clusters', 'face_annotator'),
    ('nsfw_clusters', 'nsfw_annotator'), ('class_nsfw', 'annotator'), ('class_accuracy', 'annotator'),
    ('class_human_delta', 'annotator'), ('human_delta_ttest', 'face_annotator'),
    ('dog_group_gender', 'annotator'), ('instrument_gender_skew', 'annotator'),
    ('class_semantics', 'annotator'), ('review_queue', 'annotator'), ('supercategory_face_share', 'annotator'),
] %}
{%- for model, column in columns %}
    {%- if not loop.first %}
        union all
    {%- endif %}
    select
        '{{ model }}' as mart,
        {{ column }} as annotator
    from {{ ref(model) }}
    where {{ is_reference(column) }}
{%- endfor %}
