{#- dbt_utils.unique_combination_of_columns, same name and arguments (dbt_utils cannot be
    installed offline): the combinations of the listed columns found in more than one row. -#}
{% test unique_combination_of_columns(model, combination_of_columns, quote_columns=false) %}
    select
        {{ column_list(combination_of_columns, quote_columns) }},
        count(*) as n_rows
    from {{ model }}
    group by all
    having count(*) > 1
{% endtest %}
