"""Model zoo: every model the census can run, by annotator name."""

from __future__ import annotations

from .base import Model, WeightFile
from .classify_efficientnet import EfficientNetLite0
from .faces_dlib import DlibAgeGender
from .nsfw_opennsfw import OpenNsfw

REGISTRY: dict[str, type[Model]] = {
    cls.annotator: cls for cls in (DlibAgeGender, OpenNsfw, EfficientNetLite0)
}

__all__ = ["REGISTRY", "Model", "WeightFile"]
