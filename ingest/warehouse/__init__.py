"""The DuckDB warehouse: connection and schema, sinks, parts, landing, merging and imports."""
