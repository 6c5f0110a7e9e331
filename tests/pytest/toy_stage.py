"""A toy stage, as a newcomer would add one: its model file (this one) and its registry lines.
Nothing else in the package changes; test_stages.py proves it end to end."""

from __future__ import annotations

import numpy as np

from ingest.core.stages import Stage, register
from ingest.models import Model, register_model


@register_model
class MeanBrightness(Model):
    """Mean grey level of the image, in [0, 1]."""

    stage = "brightness"
    annotator = "toy/mean-brightness"

    def weight_files(self):
        return []

    def digest(self) -> str:
        return "none"

    def prepare(self, image):
        return float(np.asarray(image.rgb, dtype=np.float32).mean() / 255.0)

    def infer(self, prepared):
        return [{"brightness": value} for value in prepared]


STAGE = register(Stage(
    "brightness", "brightness", (), to_rows=lambda value: [value],
    ddl="create table if not exists raw.brightness (run_id varchar not null, image_id varchar not null, "
        "brightness double check (brightness between 0 and 1), primary key (run_id, image_id))",
))
