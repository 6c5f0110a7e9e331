{#- The 2019 paper's apparent-age groups, on floor(age): 0-14, 15-29, 30-44, 45-59, 60+.
    The edges live here only; the labels, the CASE and the accepted_values tests follow. -#}
{% macro age_bucket_edges() %}
    {{ return([15, 30, 45, 60]) }}
{% endmacro %}

{#- The bucket labels in order, as a list (it renders as a DuckDB list literal). -#}
{% macro age_bucket_labels() %}
    {%- set edges = age_bucket_edges() -%}
    {%- set labels = [] -%}
    {%- for edge in edges -%}
        {%- do labels.append((0 if loop.first else edges[loop.index0 - 1]) ~ '-' ~ (edge - 1)) -%}
    {%- endfor -%}
    {%- do labels.append(edges | last ~ '+') -%}
    {{ return(labels) }}
{% endmacro %}

{#- The bucket of an apparent age expression; NULL where the age is NULL. Ages below 0 fall
    in the first bucket. NaN (greater than every number in DuckDB) would fall in the last:
    the raw schema refuses non-finite ages and stg_faces turns any older one into NULL. -#}
{% macro age_bucket(age) %}
    {%- set edges = age_bucket_edges() -%}
    {%- set labels = age_bucket_labels() -%}
    case
        when {{ age }} is null then null
    {%- for edge in edges %}
        when floor({{ age }}) < {{ edge }} then '{{ labels[loop.index0] }}'
    {%- endfor %}
        else '{{ labels | last }}'
    end
{%- endmacro %}
