"""The progress of `ingest run`: a Rich bar on a terminal, plain lines in a log."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RunProgress:
    """A Rich progress bar with images/s, faces kept and errors so far; ``on_start`` and
    ``on_progress`` are the runner's callbacks, and the bar shows while ``with`` holds it.

    When the console is not a terminal (a log file, Slurm, a pipe), plain lines instead: one at
    the start, one when the first image is done, then about every 5 % or 30 s."""

    def __init__(self, console: Console, disable: bool) -> None:
        self.console = console
        self.bar = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:.1f} img/s"), TextColumn("faces {task.fields[faces]}"),
            TextColumn("errors {task.fields[errors]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=console, disable=disable or not console.is_terminal,
        )
        self.log = not disable and not console.is_terminal
        self.task = None
        self.t0 = time.perf_counter()
        self.total = 0
        self.first: tuple[float, int] | None = None  # when the first images were done, and how many
        self.logged_at = 0.0
        self.logged = -1

    def __enter__(self) -> RunProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)

    def on_start(self, total: int) -> None:
        # shown at once; "starting" until the models are loaded and the first image is done
        self.task = self.bar.add_task("starting", total=total, rate=0.0, faces=0, errors=0)
        self.t0, self.total = time.perf_counter(), total
        if self.log:
            doing = "loading the models" if total else "nothing to do, so no model is loaded"
            self.console.print(f"census: {total:,} images to do; {doing}", highlight=False)

    def on_progress(self, stats) -> None:
        now = time.perf_counter()
        rate = self._rate(now, stats.seen)
        self.bar.update(self.task, description="census", completed=stats.seen, rate=rate,
                        faces=stats.faces_kept, errors=stats.errors)
        if self.log and stats.seen and stats.seen != self.logged and self._line_due(now, stats.seen):
            self.logged, self.logged_at = stats.seen, now
            self.console.print(f"census: {stats.seen:,}/{self.total:,} images done, {rate:.1f} img/s, "
                               f"{stats.errors:,} errors", highlight=False)

    def _rate(self, now: float, seen: int) -> float:
        """Images/s, counted from the first finished images rather than from model loading."""
        if self.first is None:
            self.first = (now, seen)
        t_first, seen_first = self.first
        since_start = seen / max(now - self.t0, 1e-9)
        # images come in bursts (a worker's chunk at once): count from the first only after a few seconds
        return (seen - seen_first) / (now - t_first) if now - t_first >= 3.0 else since_start

    def _line_due(self, now: float, seen: int) -> bool:
        step = max(1, self.total // 20)
        return self.logged < 1 or seen - self.logged >= step or now - self.logged_at >= 30
