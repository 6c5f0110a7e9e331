"""Profiles: one named set of models, one per stage."""

from __future__ import annotations

from pathlib import Path

from .errors import CensusError
from .models import REGISTRY, Model

STAGES = ("faces", "nsfw", "classify")

PROFILES: dict[str, dict[str, list[str]]] = {
    "default": {
        "faces": ["dlib/age-and-gender-v1"],
        "nsfw": ["yahoo/open_nsfw"],
        "classify": ["torch/efficientnet-lite0"],
    },
}


def parse_stages(text: str | None) -> list[str]:
    if not text:
        return list(STAGES)
    stages = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise CensusError(f"Unknown stage(s) {', '.join(unknown)}: choose from {', '.join(STAGES)}.")
    return stages


def build_models(
    profile: str,
    *,
    device: str = "cpu",
    stages: list[str] | None = None,
    models_dir: Path | None = None,
    overrides: dict[str, str] | None = None,
) -> list[Model]:
    """Instantiate the profile's models (not yet loaded) for the chosen stages."""
    if profile not in PROFILES:
        raise CensusError(f"Unknown profile {profile!r}: choose from {', '.join(PROFILES)}.")
    chosen = stages or list(STAGES)
    models: list[Model] = []
    for stage in chosen:
        names = (
            [overrides[stage]] if overrides and stage in overrides else PROFILES[profile].get(stage, [])
        )
        for name in names:
            if name not in REGISTRY:
                raise CensusError(f"Unknown model {name!r} for stage {stage}: see `ingest models`.")
            cls = REGISTRY[name]
            if cls.stage != stage:
                raise CensusError(f"{name} is a {cls.stage} model, not a {stage} model.")
            models.append(cls(device=device, models_dir=models_dir))
    return models
