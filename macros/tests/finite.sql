{#- Rows whose value is not finite (NaN, inf, -inf); NULLs pass. On the raw sources, where
    the schema's CHECK constraints refuse such values in new warehouses (so the test reads
    no row where the table has one, macros/tests/enforced_constraint.sql); staging turns any
    that an older warehouse holds into NULL, so the marts never see one. -#}
{% test finite(model, column_name) %}
    {%- if warehouse_enforces(model, 'finite', [column_name]) -%}
        {{ enforced_by_warehouse(['bad_value']) }}
    {%- else -%}
    select {{ column_name }} as bad_value
    from {{ model }}
    where {{ column_name }} is not null and not isfinite(cast({{ column_name }} as double))
    {%- endif -%}
{% endtest %}
