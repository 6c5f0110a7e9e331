-- The seeds hold what the 2020 paper's own files hold: 61 hand-survey images (6 of
-- maillot/tank suit, 1 of them verifiably pornographic), the 16 instruments of Figure 14b,
-- and the dog-group counts of Figure 14a under paper_group. Any other count is a failing row.
with expected as (
    select
        checks.check_name,
        checks.n_expected
    from (
        values
        ('hand_survey_rows', 61),
        ('hand_survey_tank_suit', 6),
        ('hand_survey_tank_suit_porn', 1),
        ('instruments_in_paper', 16),
        ('paper_group:Herding', 11),
        ('paper_group:Hound', 20),
        ('paper_group:Non-Sporting', 11),
        ('paper_group:Sporting', 18),
        ('paper_group:Terrier', 20),
        ('paper_group:Toy', 16),
        ('paper_group:Unknown', 4),
        ('paper_group:Working', 20)
    ) as checks (check_name, n_expected)
),

found as (
    select
        'hand_survey_rows' as check_name,
        count(*) as n_found
    from {{ ref('hand_survey_2020') }}
    union all
    select
        'hand_survey_tank_suit' as check_name,
        count(*) as n_found
    from {{ ref('hand_survey_2020') }}
    where wnid = 'n03710721'
    union all
    select
        'hand_survey_tank_suit_porn' as check_name,
        count(*) as n_found
    from {{ ref('hand_survey_2020') }}
    where wnid = 'n03710721' and category = 'verifiably_pornographic'
    union all
    select
        'instruments_in_paper' as check_name,
        count(*) as n_found
    from {{ ref('instrument_stereotypes') }}
    where in_paper
    union all
    select
        'paper_group:' || paper_group as check_name,
        count(*) as n_found
    from {{ ref('akc_dog_groups') }}
    group by paper_group
)

select
    coalesce(expected.check_name, found.check_name) as check_name,
    expected.n_expected,
    found.n_found
from expected
full outer join found
    on expected.check_name = found.check_name
where expected.n_expected is distinct from found.n_found
