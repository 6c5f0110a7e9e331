"""Models for the worker-crash tests; importable by spawned worker processes."""

from __future__ import annotations

import os
import signal

from ingest.models import Model

POISON_WIDTH = 77  # an image this wide kills the worker that prepares it


class Crasher(Model):
    stage = "nsfw"
    annotator = "test/crasher"

    def weight_files(self):
        return []

    def prepare(self, image):
        if image.width == POISON_WIDTH:
            os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer or a segfault would
        return image.width

    def infer(self, prepared):
        return [{"nsfw_score": width / 1000} for width in prepared]


def crasher_models() -> list[Model]:
    return [Crasher()]


def dies_at_start() -> list[Model]:
    os.kill(os.getpid(), signal.SIGKILL)
    return []
