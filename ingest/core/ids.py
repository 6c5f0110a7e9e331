"""Stable identifiers."""

from __future__ import annotations

import hashlib
import uuid


def image_id(dataset: str, rel_path: str) -> str:
    """Stable across machines and reruns: 16 hex digits of sha256("dataset/rel_path").

    The same value is available in SQL as
    ``left(sha256(dataset || '/' || rel_path), 16)`` for tools that INSERT directly.
    """
    return hashlib.sha256(f"{dataset}/{rel_path}".encode()).hexdigest()[:16]


def new_run_id() -> str:
    return uuid.uuid4().hex
