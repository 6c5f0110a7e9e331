"""Models for the worker-crash tests; importable by spawned worker processes."""

from __future__ import annotations

import os
import signal

from ingest.core.rows import nsfw_row
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
        return [nsfw_row(width / 1000) for width in prepared]


def crasher_models() -> list[Model]:
    return [Crasher()]


ONCE_WIDTH = 79  # an image this wide kills its worker the first time only (a transient crash)
ONCE_MARKER = "CENSUS_TEST_CRASHED_ONCE"  # environment: the file that says it has happened


class CrashOnce(Crasher):
    def prepare(self, image):
        marker = os.environ.get(ONCE_MARKER)
        if image.width == ONCE_WIDTH and marker and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return super().prepare(image)


def crash_once_models() -> list[Model]:
    return [CrashOnce()]


def dies_at_start() -> list[Model]:
    os.kill(os.getpid(), signal.SIGKILL)
    return []


class FailsToLoad(Crasher):
    def load(self):
        raise RuntimeError("broken weights")


def fails_to_load_models() -> list[Model]:
    return [FailsToLoad()]
