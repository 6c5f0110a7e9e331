-- The split of each dataset that the papers' class tables read: `train` where the dataset has
-- one (ImageNet: the papers audit the training set), else its largest split (ties by name), so
-- a dataset ingested without splits (`all`: images, webdataset and Parquet layouts) still
-- gets its Table 3, instrument and dog-group rows.
with splits as (
    select
        dataset,
        split,
        count(*) as n_images
    from {{ ref('stg_images') }}
    group by dataset, split
)

select
    dataset,
    split,
    n_images
from splits
qualify row_number() over (
    partition by dataset
    order by split = 'train' desc, n_images desc, split asc
) = 1
