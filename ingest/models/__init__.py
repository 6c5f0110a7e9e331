"""Model zoo: every model the census can run, by annotator name."""

from __future__ import annotations

from .base import Model, WeightFile
from .classify_efficientnet import EfficientNetLite0
from .faces_dlib import DlibAgeGender, LbpCascadeAgeGender
from .faces_insightface import InsightFaceBuffaloL
from .faces_retinaface import RetinaFaceAgeGender
from .faces_verified import VerifiedRetinaFace
from .keras_models import KerasNASNetMobile, KerasResNet50, NsfwMobileNetV2
from .nsfw_opennsfw import OpenNsfw

REGISTRY: dict[str, type[Model]] = {
    cls.annotator: cls
    for cls in (DlibAgeGender, LbpCascadeAgeGender, RetinaFaceAgeGender, VerifiedRetinaFace, OpenNsfw,
                EfficientNetLite0, InsightFaceBuffaloL, NsfwMobileNetV2, KerasResNet50, KerasNASNetMobile)
}



def register_model(cls: type[Model]) -> type[Model]:
    """Add a model to the zoo under its annotator name (usable as a class decorator)."""
    REGISTRY[cls.annotator] = cls
    return cls


__all__ = ["REGISTRY", "Model", "WeightFile", "register_model"]
