{#- Pearson r (scipy.stats.pearsonr's statistic, to 12 decimals), from a DuckDB corr() aggregate and the
    number of pairs it used: NULL below two pairs or where r is undefined (NaN: a constant
    series), clamped to [-1, 1] against round-off and rounded to 12 decimals: the order in which
    DuckDB's threads add the sums moves the 16th digit from one build to the next. -#}
{% macro pearson_r(r, n_pairs) -%}
    case
        when {{ n_pairs }} >= 2 and not isnan({{ r }}) then round(greatest(-1, least(1, {{ r }})), 12)
    end
{%- endmacro %}
