{#- dbt_utils.unique_combination_of_columns, same name and arguments (dbt_utils cannot be
    installed offline): the combinations of the listed columns found in more than one row
    (macros/repeated_combinations.sql, hash-first). No row is read
    where the warehouse enforces the key (macros/tests/enforced_constraint.sql). -#}
{% test unique_combination_of_columns(model, combination_of_columns, quote_columns=false) %}
    {%- if warehouse_enforces(model, 'unique', combination_of_columns) -%}
        {{ enforced_by_warehouse(combination_of_columns + ['n_rows']) }}
    {%- else -%}
    {{ repeated_combinations(model, combination_of_columns, quote_columns) }}
    {%- endif -%}
{% endtest %}
