"""Errors that reach the user as one clear sentence (the CLI prints them, no traceback)."""


class CensusError(Exception):
    """A problem the user can act on; the message says what went wrong and what to do."""


class WarehouseBusy(CensusError):
    """Another process holds the DuckDB file."""


class ModelUnavailable(CensusError):
    """A model's weights are missing, truncated or not what the profile expects."""
