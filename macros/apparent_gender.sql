{#- The apparent gender of a gender score (0 = female, 1 = male, as in both papers):
    'female' below 0.5, 'male' from 0.5, NULL where the score is NULL. -#}
{% macro apparent_gender(score) %}
    case
        when {{ score }} < 0.5 then 'female'
        when {{ score }} >= 0.5 then 'male'
    end
{% endmacro %}
