-- The label-space audit (`ingest labels audit imagenet21k`, then `dbt build`): the 2019
-- paper's "person" category size (2,833 synsets in ImageNet's person subtree) and the 2020
-- paper's kind of count (how many labels carry each offensive-usage flag), per label set and
-- dataset (label_audit lists every wnid of a set once per dataset of the warehouse).
select
    label_set,
    dataset,
    count(*) as n_labels,
    count(*) filter (where not in_wordnet) as n_not_in_wordnet,
    count(*) filter (where is_person) as n_person_subtree,
    count(*) filter (where lexname = 'noun.person') as n_lexname_person,
    count(*) filter (where ethnic_slur) as n_ethnic_slur,
    count(*) filter (where obscenity) as n_obscenity,
    count(*) filter (where disparagement) as n_disparagement,
    count(*) filter (where vulgarism) as n_vulgarism,
    count(*) filter (where slang) as n_slang,
    count(*) filter (where colloquialism) as n_colloquialism,
    count(*) filter (where is_person and n_images > 0) as n_person_labels_with_images,
    sum(n_faces) filter (where is_person) as n_faces_in_person_labels
from {{ ref('label_audit') }}
group by label_set, dataset
order by label_set, dataset
