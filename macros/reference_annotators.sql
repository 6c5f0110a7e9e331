{#- Reference annotators (`reference/<name>`: imported ground truth, DESIGN.md "Reference labels")
    feed the evaluation marts only, never the census, shortlist, agreement or review-queue marts.
    The prefix is the dbt var reference_annotator_prefix; this macro is the one test of it. -#}
{% macro is_reference(annotator) -%}
    starts_with({{ annotator }}, '{{ var("reference_annotator_prefix") }}')
{%- endmacro %}
