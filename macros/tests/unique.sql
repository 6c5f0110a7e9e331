{#- dbt's built-in unique test (the same SQL), unless the warehouse enforces the key
    (macros/tests/enforced_constraint.sql). -#}
{% macro default__test_unique(model, column_name) %}
    {%- if warehouse_enforces(model, 'unique', [column_name]) -%}
        {{ enforced_by_warehouse(['unique_field', 'n_records']) }}
    {%- else -%}
    select
        {{ column_name }} as unique_field,
        count(*) as n_records
    from {{ model }}
    where {{ column_name }} is not null
    group by {{ column_name }}
    having count(*) > 1
    {%- endif -%}
{% endmacro %}
