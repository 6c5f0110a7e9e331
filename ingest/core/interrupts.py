"""How a run ends when it is asked to stop, and how its processes and scratch files never
outlive it.

SIGTERM (what `timeout`, systemd, Slurm and Kubernetes send) is treated like Ctrl-C: the
first of either raises :class:`Interrupted` in the main thread, the run lands the images it
finished and marks itself failed. Further signals while that clean-up runs are ignored
(with a line saying so), so impatient presses cannot orphan the workers. Workers ask the
kernel to kill them when the main process dies, even by SIGKILL."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

HANDLED = (signal.SIGINT, signal.SIGTERM)
_PR_SET_PDEATHSIG = 1


class Interrupted(KeyboardInterrupt):
    """The run was asked to stop by a signal; ``exit_code`` is the shell's 128 + signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _ignore_more(signum: int, frame: FrameType | None) -> None:
    os.write(2, b"still saving the finished images; the run stops as soon as they are written.\n")


def _first(signum: int, frame: FrameType | None) -> None:
    for handled in HANDLED:
        signal.signal(handled, _ignore_more)
    raise Interrupted(signum)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise :class:`Interrupted` once; handlers are restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in HANDLED}
    for signum in HANDLED:
        signal.signal(signum, _first)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def die_with_parent(parent_pid: int) -> None:
    """In a worker: be killed when the main process dies, however it dies.

    Linux does it in the kernel (PR_SET_PDEATHSIG); elsewhere a watchdog thread polls."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    else:
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)


def _watch_parent(parent_pid: int) -> None:
    import time

    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(1)
