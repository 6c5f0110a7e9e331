"""``python -m ingest.cli``: the same command line as ``ingest``."""

from . import main

main()
