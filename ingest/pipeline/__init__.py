"""Running the models over a dataset: the runner, the work list, workers and engines, rows."""
