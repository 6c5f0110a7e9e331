{#- The columns given, comma-separated, each quoted for the adapter when quote is true
    (the quote_columns argument of dbt_utils' tests). -#}
{% macro column_list(columns, quote=false) -%}
    {%- set names = [] -%}
    {%- for column in columns -%}
        {%- do names.append(adapter.quote(column) if quote else column) -%}
    {%- endfor -%}
    {{ names | join(', ') }}
{%- endmacro %}
