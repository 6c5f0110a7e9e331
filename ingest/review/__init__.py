"""Human review: the questions, the reviewer's page (``ingest review serve``), its answer
store, landing answers in ``raw.reviews`` and importing answers collected elsewhere.

How the page stays off the warehouse lock (DuckDB lets one process write a file, and no
other process open it meanwhile, even to read):

- queues: the server copies the ``review_queue`` mart (and the labels already in
  ``raw.reviews``) into its own store with a read-only connection that is open only for
  that copy, at start and when a reviewer presses Refresh. While ``ingest run`` or
  ``dbt build`` holds the warehouse, the copy fails with a note and the last one is used.
- answers: the server writes each answer to its own SQLite file beside the warehouse
  (``<warehouse>.reviews.sqlite``, WAL mode: one writer at a time, readers never blocked,
  several processes safe), never to the warehouse. ``ingest review land`` folds them into
  ``raw.reviews`` in one transaction, idempotently; the server does so itself when it stops
  if the warehouse is free then.
"""
