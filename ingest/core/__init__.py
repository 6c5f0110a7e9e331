"""Leaves every layer uses: paths, thresholds, errors, ids, option values, classes, stages, import checks."""
