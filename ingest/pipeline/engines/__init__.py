"""Engines: one per way of running the models, behind one signature (``Engine.results``), chosen
through the registry (``registry.py``). Only the registry is imported here, so the command line
can read the choices without loading an engine; import an engine from its module."""

from __future__ import annotations

from .registry import REGISTRY, EngineKind, EngineSpec, choose_engine, spec

__all__ = ["REGISTRY", "EngineKind", "EngineSpec", "choose_engine", "spec"]
