{#- Marts land in the default schema (main); staging, intermediate and seeds in their own
    schemas named exactly as configured (staging, intermediate, reference). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
