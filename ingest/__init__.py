"""Census warehouse ingest: images -> models -> DuckDB ``raw.*`` tables."""

__version__ = "0.1.0"
